//! The event log in PostgreSQL, for several engine processes on one database.
//!
//! The sequence-gap problem: a position drawn from a sequence is fixed at insert time but becomes
//! visible at commit, so transaction B (position 8) can commit before A (position 7); a reader
//! that has seen 8 and asks for `position > 8` never sees 7. Appends therefore take one
//! transaction-level advisory lock before they read or write anything, and assign
//! `MAX(position) + 1` under it: the next append can only start once the previous one has
//! committed and become visible, so positions are gap-free and commit order is position order, and
//! any snapshot that sees an event sees every earlier one.
//!
//! The price is that appends to one database run one at a time, each holding the lock through its
//! commit (one WAL flush). Group commit is what makes this cheap: an append carries the events of
//! many leads, so the flush is paid per batch, not per event, and throughput is bounded by batches
//! per second rather than events per second.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plera_actors::store::{
    Condition, EventLog, Fence, Lease, LeaseStore, NewEvent, SenderAction, StoreError, StoredEvent,
    StoredText,
};
use plera_domain::ids::AccountId;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, Postgres};
use sqlx::Connection;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use super::batch::{self, clamp_i64, AggregateKey, EventRecord, WriteError};
use super::begin_on_a_task;
use super::error::{Redactor, StoreOpenError};
use super::leads::PostgresLeadDirectory;
use super::schema;

/// The `BEGIN` of every append: the transaction and the advisory lock every append holds, in one
/// simple query. The lock's key is "plera" in ASCII (0x706c657261). Advisory locks are per
/// database, so plera instances in different schemas of one database share it (they only wait
/// on each other).
const BEGIN_LOCKED: &str = "BEGIN; SELECT pg_advisory_xact_lock(482854924897)";

/// Connections per process.
const CONNECTIONS: u32 = 10;

/// How long opening or a query waits for a connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `SELECT` of whole events, for `concat!`.
macro_rules! select_events {
    () => {
        "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload::text AS payload FROM events"
    };
}

/// An [`EventLog`] in a PostgreSQL database (the schema first on the connection's `search_path`;
/// the URL may set it with `?options[search_path]=NAME`).
#[derive(Clone)]
pub struct PostgresEventLog {
    pool: PgPool,
    redact: Redactor,
}

impl PostgresEventLog {
    /// Connects to and migrates the database at `url` (`postgres://...`); `shown` is the URL as
    /// errors show it.
    pub(crate) async fn open(url: &str, shown: &str) -> Result<Self, StoreOpenError> {
        let redact = Redactor::for_url(url);
        let options = PgConnectOptions::from_str(url).map_err(|e| StoreOpenError::BadUrl {
            url: shown.to_string(),
            reason: redact.scrub(e),
        })?;
        let unreachable = |e: sqlx::Error| StoreOpenError::Unreachable {
            url: shown.to_string(),
            reason: redact.scrub(e),
        };
        // One plain connection first: it fails at once where the pool would retry until its
        // acquire timeout. Closing it is a courtesy to the server.
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(unreachable)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema()",
        )
        .fetch_all(&pool)
        .await
        .map_err(unreachable)?;
        schema::check_tables(shown, tables)?;
        schema::migrate(&schema::POSTGRES, &pool, shown, &redact).await?;
        Ok(Self { pool, redact })
    }

    /// The connection pool, for projections' tables beside the log.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The lead profiles in this schema.
    pub fn lead_directory(&self) -> PostgresLeadDirectory {
        PostgresLeadDirectory::new(self.pool.clone(), self.redact.clone())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn write(&self, events: &[NewEvent], conditions: &[Condition]) -> Result<(), WriteError> {
        // The lock rides on the BEGIN (one simple query, one round trip). An error there leaves
        // the transaction aborted, so the next statement fails and nothing is written.
        let mut tx = begin_locked(&self.pool).await?;
        if !conditions.is_empty() {
            check_conditions(&mut tx, conditions).await?;
        }
        // One round trip for both: every aggregate's last sequence and the last position.
        let keys = batch::aggregates(events);
        let found: Vec<(String, String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT k.t, k.i, (SELECT MAX(sequence) FROM events e \
             WHERE e.aggregate_type = k.t AND e.aggregate_id = k.i), \
             (SELECT COALESCE(MAX(position), 0)::bigint FROM events) \
             FROM UNNEST($1::text[], $2::text[]) AS k(t, i)",
        )
        .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.1).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        let last_position = found.first().map_or(0, |row| row.3);
        let last =
            batch::last_sequences(found.into_iter().map(|(t, i, s, _)| (t, i, s)).collect())?;
        batch::check_sequences(events, &last)?;
        let (event_rows, action_rows) = batch::rows(events, last_position)?;
        // The events and their sender actions in one statement (a data-modifying CTE): one
        // round trip whatever the batch holds.
        sqlx::query(
            "WITH new_events AS (INSERT INTO events (aggregate_type, aggregate_id, sequence, \
             event_type, event_version, payload, metadata, position) \
             SELECT t, i, s, et, ev, p::json, '{}'::json, pos \
             FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
                         $6::text[], $7::bigint[]) AS u(t, i, s, et, ev, p, pos)) \
             INSERT INTO sender_actions (position, account_id, action, at) \
             SELECT * FROM UNNEST($8::bigint[], $9::text[], $10::text[], $11::timestamptz[])",
        )
        .bind(column(&event_rows, |r| r.event.aggregate_type.as_str()))
        .bind(column(&event_rows, |r| r.event.aggregate_id.as_str()))
        .bind(column(&event_rows, |r| r.sequence))
        .bind(column(&event_rows, |r| r.event.event_type.as_str()))
        .bind(column(&event_rows, |r| r.event.event_version.as_str()))
        .bind(column(&event_rows, |r| r.payload.as_str()))
        .bind(column(&event_rows, |r| r.position))
        .bind(column(&action_rows, |r| r.position))
        .bind(column(&action_rows, |r| r.account_id.as_str()))
        .bind(column(&action_rows, |r| r.action.as_str()))
        .bind(column(&action_rows, |r| r.at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The stored last sequence of every aggregate in `events`.
    async fn last_sequences(
        &self,
        conn: &mut PgConnection,
        events: &[NewEvent],
    ) -> Result<HashMap<AggregateKey, u64>, StoreError> {
        let keys = batch::aggregates(events);
        let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT k.t, k.i, (SELECT MAX(sequence) FROM events e \
             WHERE e.aggregate_type = k.t AND e.aggregate_id = k.i) \
             FROM UNNEST($1::text[], $2::text[]) AS k(t, i)",
        )
        .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
        .bind(keys.iter().map(|k| k.1).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.redact.backend(e))?;
        batch::last_sequences(rows)
    }
}

/// The parts `existing` (opening without creating or migrating) and `reset` work with.
impl PostgresEventLog {
    /// A log over a pool opened elsewhere.
    pub(super) fn from_parts(pool: PgPool, redact: Redactor) -> Self {
        Self { pool, redact }
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
        sqlx::query_as(concat!(
            select_events!(),
            " WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(clamp_i64(after))
        .bind(clamp_i64(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.redact.backend(e))
    }
}

#[async_trait]
impl EventLog for PostgresEventLog {
    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.append_if(events, &[]).await
    }

    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let outcome = self.write(&events, conditions).await;
        batch::settle(outcome, &events, &self.redact, || async {
            let mut conn = self
                .pool
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
            " WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
        ))
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.redact.backend(e))?;
        batch::stored(records)
    }

    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError> {
        // `timestamptz` keeps microseconds: the index may admit an action a few nanoseconds
        // early, and `batch::sender_actions` decides on the event's own time.
        let records: Vec<EventRecord> = sqlx::query_as(
            "SELECT e.position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, \
             e.event_version, e.payload::text AS payload \
             FROM sender_actions s JOIN events e ON e.position = s.position \
             WHERE s.account_id = $1 AND s.at >= $2 ORDER BY s.position",
        )
        .bind(account.to_string())
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.redact.backend(e))?;
        batch::sender_actions(records, account, since)
    }
}

/// Refuses the append unless every condition holds. Runs under the append lock, so no other
/// append can change an aggregate between the check and the commit.
async fn check_conditions(
    conn: &mut PgConnection,
    conditions: &[Condition],
) -> Result<(), WriteError> {
    let fences: Vec<Fence> = conditions
        .iter()
        .filter_map(|c| match c {
            Condition::Lease(f) => Some(f.clone()),
            Condition::Unchanged { .. } => None,
        })
        .collect();
    if !fences.is_empty() {
        check_fences(conn, &fences).await?;
    }
    let unchanged: Vec<(&str, &str, i64)> = conditions
        .iter()
        .filter_map(|c| match c {
            Condition::Unchanged {
                aggregate_type,
                aggregate_id,
                sequence,
            } => Some((
                aggregate_type.as_str(),
                aggregate_id.as_str(),
                clamp_i64(*sequence),
            )),
            Condition::Lease(_) => None,
        })
        .collect();
    if unchanged.is_empty() {
        return Ok(());
    }
    let moved: Vec<(String, String)> = sqlx::query_as(
        "SELECT k.t, k.i FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS k(t, i, s) \
         WHERE COALESCE((SELECT MAX(sequence) FROM events e \
                         WHERE e.aggregate_type = k.t AND e.aggregate_id = k.i), 0) <> k.s",
    )
    .bind(column(&unchanged, |u| u.0))
    .bind(column(&unchanged, |u| u.1))
    .bind(column(&unchanged, |u| u.2))
    .fetch_all(&mut *conn)
    .await?;
    match moved.into_iter().next() {
        Some((aggregate_type, aggregate_id)) => Err(WriteError::Store(StoreError::Conflict {
            aggregate_type,
            aggregate_id,
        })),
        None => Ok(()),
    }
}

/// Refuses the append unless every fence's lease is still its owner's with its token. The rows
/// stay share-locked until the append commits, so a takeover (an `UPDATE` of the row) waits for
/// it: the new owner, reading the log after its takeover, sees this append or it never happens.
async fn check_fences(conn: &mut PgConnection, fences: &[Fence]) -> Result<(), WriteError> {
    let held: Vec<String> = sqlx::query_scalar(
        "SELECT l.resource FROM leases l \
         JOIN UNNEST($1::text[], $2::text[], $3::bigint[]) AS f(r, o, t) \
           ON l.resource = f.r AND l.owner = f.o AND l.token = f.t \
         FOR SHARE OF l",
    )
    .bind(column(fences, |f| f.resource.as_str()))
    .bind(column(fences, |f| f.owner.as_str()))
    .bind(column(fences, |f| clamp_i64(f.token)))
    .fetch_all(&mut *conn)
    .await?;
    match fences.iter().find(|f| !held.contains(&f.resource)) {
        Some(lost) => Err(WriteError::Store(StoreError::LeaseLost {
            resource: lost.resource.clone(),
        })),
        None => Ok(()),
    }
}

#[async_trait]
impl LeaseStore for PostgresEventLog {
    async fn acquire(
        &self,
        resource: &str,
        owner: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        // One statement: free, lapsed or our own. The `UPDATE` waits for any append still
        // holding the row (see `check_fences`).
        let token: Option<i64> = sqlx::query_scalar(
            "INSERT INTO leases (resource, owner, token, expires_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (resource) DO UPDATE SET \
               token = CASE WHEN leases.owner = EXCLUDED.owner THEN leases.token \
                            ELSE leases.token + 1 END, \
               owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at \
             WHERE leases.owner = EXCLUDED.owner OR leases.expires_at <= $4 \
             RETURNING token",
        )
        .bind(resource)
        .bind(owner)
        .bind(now + ttl)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.redact.backend(e))?;
        Ok(token.and_then(|t| u64::try_from(t).ok()))
    }

    async fn renew(
        &self,
        owner: &str,
        leases: &[(String, u64)],
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        sqlx::query_scalar(
            "UPDATE leases l SET expires_at = $4 \
             FROM UNNEST($1::text[], $2::bigint[]) AS f(r, t) \
             WHERE l.resource = f.r AND l.token = f.t AND l.owner = $3 \
             RETURNING l.resource",
        )
        .bind(column(leases, |l| l.0.as_str()))
        .bind(column(leases, |l| clamp_i64(l.1)))
        .bind(owner)
        .bind(now + ttl)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.redact.backend(e))
    }

    async fn release(&self, resource: &str, owner: &str, token: u64) -> Result<(), StoreError> {
        // The row stays, ownerless and lapsed: the next owner's token is still greater.
        sqlx::query(
            "UPDATE leases SET owner = '', expires_at = '-infinity' \
             WHERE resource = $1 AND owner = $2 AND token = $3",
        )
        .bind(resource)
        .bind(owner)
        .bind(clamp_i64(token))
        .execute(&self.pool)
        .await
        .map_err(|e| self.redact.backend(e))?;
        Ok(())
    }

    async fn live(&self, prefix: &str, now: DateTime<Utc>) -> Result<Vec<Lease>, StoreError> {
        let rows: Vec<(String, String, i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT resource, owner, token, expires_at FROM leases \
             WHERE starts_with(resource, $1) AND expires_at > $2 ORDER BY resource",
        )
        .bind(prefix)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.redact.backend(e))?;
        Ok(rows
            .into_iter()
            .map(|(resource, owner, token, expires_at)| Lease {
                resource,
                owner,
                token: u64::try_from(token).unwrap_or(0),
                expires_at,
            })
            .collect())
    }
}

/// Begins an append's transaction with the append lock ([`BEGIN_LOCKED`]), on a task of its own
/// ([`begin_on_a_task`]): a cancelled append must not leave the lock with an idle connection.
async fn begin_locked(pool: &PgPool) -> Result<sqlx::Transaction<'static, Postgres>, WriteError> {
    begin_on_a_task(pool, BEGIN_LOCKED)
        .await
        .map_err(|e| StoreError::Backend(format!("beginning an append: {e}")))?
        .map_err(WriteError::from)
}

/// One column of `rows`, as an array parameter for `UNNEST`.
fn column<'a, R, T>(rows: &'a [R], field: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(field).collect()
}

#[cfg(test)]
mod tests {
    use super::BEGIN_LOCKED;

    #[test]
    fn the_append_lock_key_is_plera_in_ascii() {
        let key = i64::from_be_bytes([0, 0, 0, b'p', b'l', b'e', b'r', b'a']);
        assert_eq!(
            BEGIN_LOCKED,
            format!("BEGIN; SELECT pg_advisory_xact_lock({key})"),
            "every process must take the same lock, whatever the release"
        );
    }
}
