//! The event log in a SQLite file (the default) or in memory (tests).
//!
//! One writer connection appends inside `BEGIN IMMEDIATE` transactions: writers of this process
//! queue on the pool instead of spinning on SQLite's busy handler, writers of other processes wait
//! on the file lock (busy timeout 5 s), and because only one transaction writes at a time, commit
//! order is position order. Readers use their own connections; in WAL mode they never block the
//! writer and each query sees one committed state.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plera_actors::store::{EventLog, NewEvent, SenderAction, StoreError, StoredEvent, StoredText};
use plera_domain::ids::AccountId;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use super::batch::{self, clamp_i64, AggregateKey, EventRecord, WriteError};
use super::error::{Redactor, StoreOpenError};
use super::leads::SqliteLeadDirectory;
use super::schema;
use super::sqlite_checkpoint::Checkpoints;
use super::sqlite_scan;
use std::sync::Arc;

/// Rows per multi-row statement, under SQLite's smallest default limit of 999 parameters (the
/// `events` insert binds 8 per row).
const ROWS_PER_STATEMENT: usize = 999 / 8;

/// Aggregates per last-sequence query (2 parameters each).
const KEYS_PER_QUERY: usize = 999 / 2;

/// Reader connections of a file database.
const READERS: u32 = 4;

/// How long a writer of another process may hold the file before an append fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements a connection keeps (sqlx's default is 100). The views' bulk writes have a
/// text per table and number of rows (up to about eight sizes each, for upserts and for deletes),
/// which with the log's own statements passed 100: a rebuild prepared them again and again.
const STATEMENT_CACHE: usize = 512;

/// WAL pages after which a commit copies the WAL back into the database file itself (SQLite's
/// default is 1,000). A connection of its own checkpoints shortly after appends ([`Checkpoints`]),
/// so this is the bound on the WAL's size, and the one checkpoint of a store opened without it.
/// A page changed by many commits in a row (the tail of a lead's index entries, of a sender's
/// actions) is copied once per checkpoint however often it was written, so a larger interval
/// copies and syncs far less: 12-20 % more steps per second in the engine bench, before the
/// checkpoints moved off the append path. The cost: a WAL file of up to about 40 MB.
const WAL_AUTOCHECKPOINT: &str = "10000";

/// The writer's page cache, in KiB (SQLite's default is 2 MiB). Every append writes the last index
/// page of each lead and sender it touches; once leads' histories outgrow a page, each active lead
/// has a page of its own, and with the default cache a few hundred active leads already read them
/// back from the file on every append. 32 MiB holds about 8,000 such pages. Readers keep the
/// default: they read the log in order.
const WRITER_CACHE_KIB: &str = "-32768";

/// The `SELECT` of whole events, for `concat!`.
macro_rules! select_events {
    () => {
        "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload FROM events"
    };
}

/// The settings every connection of the store has, whoever opens it: how long it waits for
/// another process's writer, its statement cache, foreign keys, WAL's `NORMAL` sync and its
/// checkpoint interval.
pub(super) fn connect_options(
    options: SqliteConnectOptions,
    busy: Duration,
) -> SqliteConnectOptions {
    options
        .busy_timeout(busy)
        .statement_cache_capacity(STATEMENT_CACHE)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Normal)
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT)
}

/// What the writer's connection has beside [`connect_options`], whoever opens it: its larger
/// page cache.
pub(super) fn writer_options(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options.pragma("cache_size", WRITER_CACHE_KIB)
}

/// Pool options of every SQLite pool of the store. No ping before a connection is handed out
/// (sqlx's default): the connection is a file handle on this machine, the ping finds nothing a
/// query would not, and it is a round trip to the connection's thread (and a timer) on every
/// append and read.
pub(super) fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().test_before_acquire(false)
}

/// An [`EventLog`] in a SQLite database.
#[derive(Clone)]
pub struct SqliteEventLog {
    writer: SqlitePool,
    reader: SqlitePool,
    redact: Redactor,
    /// Checkpoints after appends, off the append path (a file database opened to append).
    checkpoints: Option<Arc<Checkpoints>>,
}

impl SqliteEventLog {
    /// Opens (creating it if missing) and migrates the database at `url` (`sqlite://PATH` or
    /// `sqlite::memory:`); `shown` is the URL as errors show it.
    pub(crate) async fn open(url: &str, shown: &str) -> Result<Self, StoreOpenError> {
        let redact = Redactor::for_url(url);
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreOpenError::BadUrl {
                url: shown.to_string(),
                reason: redact.scrub(e),
            })?
            .create_if_missing(true);
        let options = connect_options(options, BUSY_TIMEOUT);
        let unreachable = |e: sqlx::Error| StoreOpenError::Unreachable {
            url: shown.to_string(),
            reason: redact.scrub(e),
        };
        let memory = is_memory(url);
        let mut writer = pool_options().max_connections(1);
        if memory {
            // Every connection to `:memory:` is a database of its own: keep exactly one, forever.
            writer = writer
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let writer = writer
            .connect_with(writer_options(options.clone()))
            .await
            .map_err(unreachable)?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&writer)
        .await
        .map_err(unreachable)?;
        // Checked before anything is changed: another application's file is left as it was.
        schema::check_tables(shown, tables)?;
        if !memory {
            // WAL is a property of the file: set once here, every later connection uses it.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&writer)
                .await
                .map_err(unreachable)?;
        }
        schema::migrate(&schema::SQLITE, &writer, shown, &redact).await?;
        let reader = if memory {
            writer.clone()
        } else {
            pool_options()
                .max_connections(READERS)
                .connect_with(options.clone().read_only(true))
                .await
                .map_err(unreachable)?
        };
        let checkpoints = if memory {
            None
        } else {
            let pool = pool_options()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(unreachable)?;
            Some(Arc::new(Checkpoints::start(pool)))
        };
        Ok(Self {
            writer,
            reader,
            redact,
            checkpoints,
        })
    }

    /// The pool whose one connection writes: projections that write their tables use it too,
    /// so that they queue with appends instead of failing on a busy database.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Read-only connections (the writer's own for an in-memory database).
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// The lead profiles in this database.
    pub fn lead_directory(&self) -> SqliteLeadDirectory {
        SqliteLeadDirectory::new(
            self.writer.clone(),
            self.reader.clone(),
            self.redact.clone(),
        )
    }

    /// Closes every connection, checkpointing the WAL into the database file.
    pub async fn close(&self) {
        self.reader.close().await;
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.close().await;
        }
        self.writer.close().await;
    }

    /// Appends in two commands to the connection's thread (each a hand-off between threads and
    /// back, the main cost of a small append): `BEGIN IMMEDIATE` with the lookups of the last
    /// sequences and the last position, then every `INSERT` with the `COMMIT`. sqlx's
    /// `Transaction` would send `BEGIN` and `COMMIT` as commands of their own, so the transaction
    /// is run by hand: a failure rolls it back, and so does an append dropped half-way (its future
    /// cancelled), before the connection goes back to the pool (see [`Appending`]).
    async fn write(&self, events: &[NewEvent]) -> Result<(), WriteError> {
        let mut writer = Appending(Some(self.writer.acquire().await?));
        let conn = writer.conn();
        let written = Self::write_on(conn, events).await;
        if written.is_err() {
            // Whatever failed, no transaction stays open (where none is, ROLLBACK fails, harmless).
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        }
        writer.settled();
        written
    }

    async fn write_on(conn: &mut SqliteConnection, events: &[NewEvent]) -> Result<(), WriteError> {
        let mut lookups = QueryBuilder::new("BEGIN IMMEDIATE;\n");
        push_lookups(&mut lookups, events);
        let found: Vec<(String, String, Option<i64>, i64)> =
            lookups.build_query_as().fetch_all(&mut *conn).await?;
        let (last, last_position) = lookups_found(found)?;
        batch::check_sequences(events, &last)?;
        let (event_rows, action_rows) = batch::rows(events, last_position)?;
        // Statements of at most `ROWS_PER_STATEMENT` rows each (SQLite's parameter limit is per
        // statement), sent together: sqlx binds each statement's `?`s from where the previous
        // statement's stopped, and stops at the first that fails (the COMMIT is then not run).
        // `OR ROLLBACK`: a failing row ends the whole append, which is all or nothing anyway, so
        // SQLite need not copy every page the statement changes to a statement journal first (a
        // quarter of the writer's time on small appends, more as leads' histories spread their
        // index entries over more pages). `sender_actions`' foreign key is deferred to the
        // commit for the same reason (migration 0003).
        let mut inserts = QueryBuilder::new("");
        for chunk in event_rows.chunks(ROWS_PER_STATEMENT) {
            inserts.push(
                "INSERT OR ROLLBACK INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                 event_version, payload, metadata, position) ",
            );
            inserts.push_values(chunk, |mut row, r| {
                row.push_bind(&r.event.aggregate_type)
                    .push_bind(&r.event.aggregate_id)
                    .push_bind(r.sequence)
                    .push_bind(&r.event.event_type)
                    .push_bind(&r.event.event_version)
                    .push_bind(&r.payload)
                    .push_bind("{}")
                    .push_bind(r.position);
            });
            inserts.push(";\n");
        }
        for chunk in action_rows.chunks(ROWS_PER_STATEMENT) {
            inserts
                .push("INSERT OR ROLLBACK INTO sender_actions (position, account_id, action, at) ");
            inserts.push_values(chunk, |mut row, r| {
                row.push_bind(r.position)
                    .push_bind(&r.account_id)
                    .push_bind(&r.action)
                    .push_bind(time_key(r.at));
            });
            inserts.push(";\n");
        }
        inserts.push("COMMIT");
        inserts.build().execute(&mut *conn).await?;
        Ok(())
    }

    /// The stored last sequence of every aggregate in `events` (read outside any append).
    async fn last_sequences(
        &self,
        conn: &mut SqliteConnection,
        events: &[NewEvent],
    ) -> Result<HashMap<AggregateKey, u64>, StoreError> {
        let mut lookups = QueryBuilder::new("");
        push_lookups(&mut lookups, events);
        let found = lookups
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.redact.backend(e))?;
        Ok(lookups_found(found)?.0)
    }
}

/// The writer's connection during an append. Dropped before the append settled (its future
/// cancelled half-way), the connection is rolled back before it goes back to the pool: the
/// `ROLLBACK` queues on the connection's thread behind the command still running there, so it
/// sees that command's end (after a `COMMIT`, it fails and changes nothing). Without a runtime to
/// run it on (the process is stopping), the connection is closed instead ([`RollingBack`]).
struct Appending(Option<PoolConnection<Sqlite>>);

impl Appending {
    fn conn(&mut self) -> &mut SqliteConnection {
        self.0.as_mut().expect("held until settled or dropped")
    }

    /// The append committed or was rolled back: the connection goes back to the pool as it is.
    fn settled(mut self) {
        drop(self.0.take());
    }
}

impl Drop for Appending {
    fn drop(&mut self) {
        let Some(conn) = self.0.take() else {
            return;
        };
        let mut rolling_back = RollingBack(Some(conn));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(conn) = rolling_back.0.as_mut() {
                    let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
                }
                // Rolled back, or nothing was open any more: back to the pool.
                drop(rolling_back.0.take());
            });
        }
    }
}

/// A connection on its way to a `ROLLBACK`: dropped before it got there (no runtime, or one
/// shutting down), the connection is closed, which rolls back too.
struct RollingBack(Option<PoolConnection<Sqlite>>);

impl Drop for RollingBack {
    fn drop(&mut self) {
        if let Some(mut conn) = self.0.take() {
            conn.close_on_drop();
        }
    }
}

/// Pushes the queries of the last sequence of every aggregate in `events` and of the log's last
/// position, at most `KEYS_PER_QUERY` aggregates per statement, each row `(type, id, last
/// sequence, last position)`.
fn push_lookups<'a>(query: &mut QueryBuilder<'a, Sqlite>, events: &'a [NewEvent]) {
    for chunk in batch::aggregates(events).chunks(KEYS_PER_QUERY) {
        query.push("WITH k(t, i) AS (");
        query.push_values(chunk, |mut row, (t, i)| {
            row.push_bind(*t).push_bind(*i);
        });
        query.push(
            ") SELECT k.t, k.i, (SELECT MAX(sequence) FROM events e \
             WHERE e.aggregate_type = k.t AND e.aggregate_id = k.i), \
             (SELECT COALESCE(MAX(position), 0) FROM events) FROM k;\n",
        );
    }
}

/// The answers of [`push_lookups`]: each aggregate's last sequence, and the last position.
fn lookups_found(
    found: Vec<(String, String, Option<i64>, i64)>,
) -> Result<(HashMap<AggregateKey, u64>, i64), StoreError> {
    let last_position = found.first().map_or(0, |row| row.3);
    let rows = found.into_iter().map(|(t, i, s, _)| (t, i, s)).collect();
    Ok((batch::last_sequences(rows)?, last_position))
}

/// The parts `existing` (opening without creating or migrating) and `reset` work with.
impl SqliteEventLog {
    /// A log over pools opened elsewhere (the writer: one connection). It checkpoints only
    /// through the writer: it is opened to read the log and to write views, not to append.
    pub(super) fn from_parts(writer: SqlitePool, reader: SqlitePool, redact: Redactor) -> Self {
        Self {
            writer,
            reader,
            redact,
            checkpoints: None,
        }
    }

    /// Keeps the URL's password out of messages.
    pub(super) fn redactor(&self) -> &Redactor {
        &self.redact
    }

    /// The rows of up to `limit` events after `after`, in position order (both reads' query).
    async fn records_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, StoreError> {
        // Read through SQLite's C API: sqlx's per-row hand-off cost a rebuild more than SQLite's
        // scan (`sqlite_scan`).
        let conn = self
            .reader
            .acquire()
            .await
            .map_err(|e| self.redact.backend(e))?;
        sqlite_scan::events(
            conn,
            concat!(
                select_events!(),
                " WHERE position > ?1 ORDER BY position LIMIT ?2"
            ),
            clamp_i64(after),
            clamp_i64(limit),
        )
        .await
    }
}

#[async_trait]
impl EventLog for SqliteEventLog {
    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let outcome = self.write(&events).await;
        if let (Ok(()), Some(checkpoints)) = (&outcome, &self.checkpoints) {
            checkpoints.appended();
        }
        batch::settle(outcome, &events, &self.redact, || async {
            let mut conn = self
                .reader
                .acquire()
                .await
                .map_err(|e| self.redact.backend(e))?;
            self.last_sequences(&mut conn, &events).await
        })
        .await
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        batch::stored(self.records_after(after, limit).await?)
    }

    async fn read_text_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredText>, StoreError> {
        batch::stored_text(self.records_after(after, limit).await?)
    }

    async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let records: Vec<EventRecord> = sqlx::query_as(concat!(
            select_events!(),
            " WHERE aggregate_type = ? AND aggregate_id = ? ORDER BY sequence"
        ))
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_all(&self.reader)
        .await
        .map_err(|e| self.redact.backend(e))?;
        batch::stored(records)
    }

    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError> {
        let records: Vec<EventRecord> = sqlx::query_as(
            "SELECT e.position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, \
             e.event_version, e.payload \
             FROM sender_actions s JOIN events e ON e.position = s.position \
             WHERE s.account_id = ? AND s.at >= ? ORDER BY s.position",
        )
        .bind(account.to_string())
        .bind(time_key(since))
        .fetch_all(&self.reader)
        .await
        .map_err(|e| self.redact.backend(e))?;
        batch::sender_actions(records, account, since)
    }
}

/// `at` as `sender_actions.at` stores it: fixed-width RFC 3339, so text order is time order.
fn time_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Whether `url` names an in-memory database.
fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The writer's settings as `PRAGMA`s read them back: its page cache and checkpoint interval.
    async fn writer_settings(log: &SqliteEventLog) -> (i64, i64) {
        let cache = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(log.writer())
            .await
            .unwrap();
        let checkpoint = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(log.writer())
            .await
            .unwrap();
        (cache, checkpoint)
    }

    #[tokio::test]
    async fn both_openers_give_the_writer_its_cache_and_checkpoint_interval() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        let expected = (
            WRITER_CACHE_KIB.parse::<i64>().unwrap(),
            WAL_AUTOCHECKPOINT.parse::<i64>().unwrap(),
        );
        let created = SqliteEventLog::open(&url, &url).await.unwrap();
        assert_eq!(writer_settings(&created).await, expected);
        created.close().await;
        let existing = crate::store::open_existing_store(&url, crate::store::Pending::Refuse)
            .await
            .unwrap();
        let crate::store::Store::Sqlite(existing) = existing else {
            panic!("a SQLite URL opens a SQLite store");
        };
        assert_eq!(writer_settings(&existing).await, expected);
        existing.close().await;
    }

    #[tokio::test]
    async fn a_sender_action_without_its_event_fails_at_commit() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        let log = SqliteEventLog::open(&url, &url).await.unwrap();
        let mut conn = log.writer().acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .unwrap();
        // Deferred: the insert itself passes, the commit refuses it.
        sqlx::query(
            "INSERT OR ROLLBACK INTO sender_actions (position, account_id, action, at) \
             VALUES (7, 'acc', 'invite', '2026-01-05T09:00:00.000000000Z')",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        let commit = sqlx::query("COMMIT").execute(&mut *conn).await;
        assert!(
            commit.is_err_and(|e| e.to_string().contains("FOREIGN KEY")),
            "a dangling sender action must not commit"
        );
        sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sender_actions")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(rows, 0);
        drop(conn);
        log.close().await;
    }

    #[tokio::test]
    async fn appends_reach_the_database_file_before_the_writer_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("log.db");
        let url = format!("sqlite://{}", file.display());
        let log = SqliteEventLog::open(&url, &url).await.unwrap();
        let before = std::fs::metadata(&file).unwrap().len();
        // About 100 pages: a hundredth of the writer's own checkpoint interval.
        let note = "x".repeat(4_000);
        let events: Vec<NewEvent> = (1..=100)
            .map(|sequence| NewEvent {
                aggregate_type: "Note".into(),
                aggregate_id: "n-1".into(),
                sequence,
                event_type: "Noted".into(),
                event_version: "1".into(),
                payload: serde_json::json!({ "note": note }),
            })
            .collect();
        log.append(events).await.unwrap();
        // Only a checkpoint writes the appended pages into the file; the writer's own would come
        // after 100 times as many.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::fs::metadata(&file).unwrap().len() < before + 100 * 4_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint copied the appends into the database file"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(log.read_after(0, 1_000).await.unwrap().len(), 100);
        log.close().await;
    }

    #[test]
    fn time_keys_sort_as_times_do() {
        let early = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
        let later = early + chrono::Duration::nanoseconds(1);
        let much_later = early + chrono::Duration::hours(30);
        assert_eq!(time_key(early), "2026-01-05T09:00:00.000000000Z");
        assert!(time_key(early) < time_key(later));
        assert!(time_key(later) < time_key(much_later));
    }
}
