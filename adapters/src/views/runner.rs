//! The catch-up runner: reads the log from the views' checkpoints in batches, folds each batch
//! (loading the rows it asks for, a query per table and round), and writes every view's changes
//! with its new checkpoint in one transaction. A rebuild from position 0 keeps its rows in
//! memory instead ([`Runner::rebuild`]).
//!
//! Exactly once: a checkpoint only moves by compare-and-set inside the transaction that writes the
//! batch's rows, so a crash leaves either both or neither, and a second runner on the same
//! database (another process, a `plera replay` beside a live engine) that got there first makes
//! this one's transaction roll back and read again instead of applying a batch twice.

use std::collections::BTreeMap;

use plera_actors::store::{EventLog, StoredEvent, StoredText};
use plera_projections::envelope::{decode_each, Stored};
use plera_projections::projection::MAX_ROUNDS;
use plera_projections::queries::ViewError;
use plera_projections::rows::{Change, Key, Kind, Table, Value};
use plera_projections::stage::{Outcome, Read, Snapshot};
use plera_projections::{Decoded, Envelope, Projection, ProjectionError};

use super::db::{Db, Sql, Tx};
use super::sql;

/// How many times in a row another runner may move a checkpoint under this one before it gives up.
const MAX_CONFLICTS: usize = 64;

/// One run over a set of views.
pub(crate) struct Runner<'a> {
    pub(crate) db: &'a Db,
    pub(crate) log: &'a dyn EventLog,
    pub(crate) batch: usize,
}

/// A view's stored checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub(crate) position: u64,
    pub(crate) version: i64,
    /// Whether a rebuild's dropped indexes are on record, to build ([`super::indexes`]).
    pub(crate) deferred: bool,
}

impl Runner<'_> {
    /// Creates missing checkpoints, builds the indexes a stopped rebuild left on record, and
    /// rebuilds (from 0) every view whose stored fold version is not the code's.
    pub(crate) async fn prepare(&self, views: &[&dyn Projection]) -> Result<(), ViewError> {
        let stored = self.checkpoints(views).await?;
        let deferred: Vec<&dyn Projection> = views
            .iter()
            .copied()
            .filter(|v| stored.get(v.name()).is_some_and(|c| c.deferred))
            .collect();
        if !deferred.is_empty() {
            self.restore_indexes(&deferred).await?;
        }
        let missing: Vec<&dyn Projection> = views
            .iter()
            .copied()
            .filter(|v| !stored.contains_key(v.name()))
            .collect();
        if !missing.is_empty() {
            let mut tx = self.db.begin().await?;
            for view in missing {
                let mut sql = Sql::new(self.db.dialect());
                sql.push("INSERT INTO projection_checkpoints (name, position, version) VALUES (")
                    .bind_text(view.name())
                    .push(", 0, ")
                    .bind_int(i64::from(view.version()))
                    .push(") ON CONFLICT (name) DO NOTHING");
                tx.exec(&sql).await?;
            }
            tx.commit().await?;
        }
        let stale: Vec<&dyn Projection> = views
            .iter()
            .copied()
            .filter(|v| {
                stored
                    .get(v.name())
                    .is_some_and(|c| c.version != i64::from(v.version()))
            })
            .collect();
        if !stale.is_empty() {
            self.reset(&stale).await?;
        }
        Ok(())
    }

    /// Empties the views' tables and sets their checkpoints to 0, in one transaction.
    pub(crate) async fn reset(&self, views: &[&dyn Projection]) -> Result<(), ViewError> {
        let mut tx = self.db.begin().await?;
        for view in views {
            for table in view.tables() {
                let mut sql = Sql::new(self.db.dialect());
                sql.push("DELETE FROM ").push(table.name);
                tx.exec(&sql).await?;
            }
            let mut sql = Sql::new(self.db.dialect());
            sql.push("UPDATE projection_checkpoints SET position = 0, version = ")
                .bind_int(i64::from(view.version()))
                .push(" WHERE name = ")
                .bind_text(view.name());
            tx.exec(&sql).await?;
        }
        tx.commit().await
    }

    /// The stored checkpoints of `views`, by name.
    pub(crate) async fn checkpoints(
        &self,
        views: &[&dyn Projection],
    ) -> Result<BTreeMap<String, Checkpoint>, ViewError> {
        let mut sql = Sql::new(self.db.dialect());
        sql.push(
            "SELECT name, position, version, deferred_indexes FROM projection_checkpoints \
             WHERE name IN (",
        );
        for (i, view) in views.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_text(view.name());
        }
        sql.push(")");
        let rows = self
            .db
            .fetch(&sql, &[Kind::Text, Kind::Int, Kind::Int, Kind::Text])
            .await?;
        let mut out = BTreeMap::new();
        for row in rows {
            if let [Value::Text(name), Value::Int(position), Value::Int(version), deferred] =
                row.as_slice()
            {
                out.insert(
                    name.clone(),
                    Checkpoint {
                        position: u64::try_from(*position).unwrap_or(0),
                        version: *version,
                        deferred: *deferred != Value::Null,
                    },
                );
            }
        }
        Ok(out)
    }

    /// The log's last position (0 when empty).
    pub(crate) async fn log_end(&self) -> Result<u64, ViewError> {
        let mut sql = Sql::new(self.db.dialect());
        sql.push("SELECT COALESCE(MAX(position), 0) FROM events");
        let rows = self.db.fetch(&sql, &[Kind::Int]).await?;
        Ok(match rows.first().map(Vec::as_slice) {
            Some([Value::Int(n)]) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        })
    }

    /// Applies the log to `views` until every one is at its end. `progress(done, total)` follows
    /// each committed batch. Returns the position reached.
    pub(crate) async fn run(
        &self,
        views: &[&dyn Projection],
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<u64, ViewError> {
        self.prepare(views).await?;
        // Only asked for once there is work: a refresh with nothing new stays two queries.
        let mut total = None;
        let mut conflicts = 0;
        loop {
            let stored = self.checkpoints(views).await?;
            let position = |v: &dyn Projection| stored.get(v.name()).map_or(0, |c| c.position);
            let from = views.iter().map(|v| position(*v)).min().unwrap_or(0);
            let Some((last, batch)) = self.read_batch(from).await? else {
                return Ok(from);
            };
            let total = match total {
                Some(total) => total,
                None => *total.insert(self.log_end().await?),
            };
            let decoded = decode(&batch)?;
            let mut plans = Vec::new();
            for view in views {
                let at = position(*view);
                if at >= last {
                    continue;
                }
                // The batch is in position order: the view's events are a suffix of it.
                let events = &decoded[decoded.partition_point(|e| e.position <= at)..];
                let changes = self.fold(*view, events).await?;
                plans.push((*view, at, changes));
            }
            let mut tx = self.db.begin().await?;
            let mut moved = true;
            for (view, at, changes) in &plans {
                if !advance(&mut tx, self.db, *view, *at, last).await? {
                    moved = false;
                    break;
                }
                write(&mut tx, self.db, changes).await?;
            }
            if !moved {
                tx.rollback().await?;
                conflicts += 1;
                if conflicts > MAX_CONFLICTS {
                    return Err(ViewError::Storage(
                        "another runner keeps moving the view checkpoints".into(),
                    ));
                }
                continue;
            }
            tx.commit().await?;
            conflicts = 0;
            progress(last, total.max(last));
        }
    }

    /// Folds `events` into `view`, loading the rows it asks for.
    async fn fold(
        &self,
        view: &dyn Projection,
        events: &[Decoded],
    ) -> Result<Vec<Change>, ViewError> {
        let mut snapshot = Snapshot::new();
        for _ in 0..MAX_ROUNDS {
            match view.apply(events, &snapshot)? {
                Outcome::Done(changes) => return Ok(changes),
                Outcome::Need(reads) => self.load(reads, &mut snapshot).await?,
            }
        }
        Err(ProjectionError::Unsettled {
            view: view.name(),
            rounds: MAX_ROUNDS,
        }
        .into())
    }

    /// Loads the rows of `reads`: one statement per table and prefix length (and chunk of
    /// [`sql::ROWS_PER_STATEMENT`] keys), its text the same whatever the number of keys.
    async fn load(&self, reads: Vec<Read>, snapshot: &mut Snapshot) -> Result<(), ViewError> {
        let mut groups: BTreeMap<(&'static str, usize), (&'static Table, Vec<Read>)> =
            BTreeMap::new();
        for read in reads {
            groups
                .entry((read.table.name, read.prefix.len()))
                .or_insert_with(|| (read.table, Vec::new()))
                .1
                .push(read);
        }
        let dialect = self.db.dialect();
        for ((_, len), (table, reads)) in groups {
            let kinds = sql::kinds(table);
            if len == 0 {
                // The whole table (a read of the empty prefix is one read).
                let rows = self.db.fetch(&sql::select(dialect, table), &kinds).await?;
                for read in &reads {
                    snapshot.answer(read, rows.clone())?;
                }
                continue;
            }
            for chunk in reads.chunks(sql::ROWS_PER_STATEMENT) {
                let keys: Vec<&Key> = chunk.iter().map(|r| &r.prefix).collect();
                let query = sql::load(dialect, table, &keys)?;
                let mut by_prefix: BTreeMap<Key, Vec<Vec<Value>>> = BTreeMap::new();
                for row in self.db.fetch(&query, &kinds).await? {
                    let mut key = table.key_of(&row)?;
                    key.truncate(len);
                    by_prefix.entry(key).or_default().push(row);
                }
                for read in chunk {
                    let rows = by_prefix.remove(&read.prefix).unwrap_or_default();
                    snapshot.answer(read, rows)?;
                }
            }
        }
        Ok(())
    }

    /// The batch after `after`, with its last position; `None` at the log's end. Payloads are
    /// read as text, for [`decode`] to turn straight into events: no parsed tree is built on the
    /// way.
    pub(super) async fn read_batch(
        &self,
        after: u64,
    ) -> Result<Option<(u64, Vec<StoredText>)>, ViewError> {
        let batch = self
            .log
            .read_text_after(after, self.batch)
            .await
            .map_err(|e| ViewError::Storage(e.to_string()))?;
        Ok(batch.last().map(|e| e.position).map(|last| (last, batch)))
    }
}

/// Moves `view`'s checkpoint from `from` to `to`; false if it is no longer at `from`.
pub(super) async fn advance(
    tx: &mut Tx,
    db: &Db,
    view: &dyn Projection,
    from: u64,
    to: u64,
) -> Result<bool, ViewError> {
    let mut sql = Sql::new(db.dialect());
    sql.push("UPDATE projection_checkpoints SET position = ")
        .bind_int(position(to))
        .push(" WHERE name = ")
        .bind_text(view.name())
        .push(" AND position = ")
        .bind_int(position(from))
        .push(" AND version = ")
        .bind_int(i64::from(view.version()));
    Ok(tx.exec(&sql).await? == 1)
}

/// One table's share of a batch's changes.
struct TableChanges<'c> {
    table: &'static Table,
    upserts: Vec<&'c [Value]>,
    deletes: Vec<&'c Key>,
}

/// Writes a batch's changes: per table, a bulk delete then a bulk upsert.
async fn write(tx: &mut Tx, db: &Db, changes: &[Change]) -> Result<(), ViewError> {
    let mut by_table: BTreeMap<&'static str, TableChanges<'_>> = BTreeMap::new();
    for change in changes {
        let table = change.table();
        let entry = by_table.entry(table.name).or_insert_with(|| TableChanges {
            table,
            upserts: Vec::new(),
            deletes: Vec::new(),
        });
        match change {
            Change::Upsert { row, .. } => entry.upserts.push(row),
            Change::Delete { key, .. } => entry.deletes.push(key),
        }
    }
    for changes in by_table.into_values() {
        write_table(tx, db, changes.table, &changes.upserts, &changes.deletes).await?;
    }
    Ok(())
}

/// Deletes then upserts rows of one table, in as few statements as [`sql::statements`] allows.
pub(super) async fn write_table(
    tx: &mut Tx,
    db: &Db,
    table: &'static Table,
    upserts: &[&[Value]],
    deletes: &[&Key],
) -> Result<(), ViewError> {
    let dialect = db.dialect();
    for chunk in sql::statements(dialect, table.key, deletes) {
        if let Some(statement) = sql::delete(dialect, table, chunk)? {
            tx.exec(&statement).await?;
        }
    }
    for chunk in sql::statements(dialect, table.columns.len(), upserts) {
        if let Some(statement) = sql::upsert(dialect, table, chunk)? {
            tx.exec(&statement).await?;
        }
    }
    Ok(())
}

fn position(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A batch read by [`Runner::read_batch`], decoded, dropping events of aggregates no view knows.
pub(super) fn decode(batch: &[StoredText]) -> Result<Vec<Decoded>, ProjectionError> {
    decode_each(batch.iter().map(stored))
}

/// A stored event's parts as the views decode them, borrowed (the rebuild's text payloads, the
/// audit's parsed ones).
pub fn stored<P>(e: &StoredEvent<P>) -> Stored<'_, P> {
    Stored {
        position: e.position,
        aggregate_type: &e.aggregate_type,
        aggregate_id: &e.aggregate_id,
        event_type: &e.event_type,
        payload: &e.payload,
    }
}

/// The views' envelope of a stored event: the one mapping from the store's type to the one the
/// views know (`projections` does not depend on the store).
pub fn envelope(e: StoredEvent) -> Envelope {
    Envelope {
        position: e.position,
        aggregate_type: e.aggregate_type,
        aggregate_id: e.aggregate_id,
        sequence: e.sequence,
        event_type: e.event_type,
        event_version: e.event_version,
        payload: e.payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open_store;
    use plera_projections::rows::Record;
    use plera_projections::senders::SenderRow;

    /// A full row of `table` whose cells all derive from `i` (distinct keys), `tag` in its last
    /// text column.
    fn row(table: &Table, i: usize, tag: &str) -> Vec<Value> {
        let last_text = table.columns.iter().rposition(|c| c.kind == Kind::Text);
        table
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| match c.kind {
                Kind::Int => Value::Int(i as i64),
                Kind::Real => Value::Real(i as f64 / 4.0),
                Kind::Text if Some(j) == last_text && j >= table.key => Value::Text(tag.into()),
                Kind::Text => Value::Text(format!("r{i:05}-{j}")),
            })
            .collect()
    }

    /// The widest view table, written, rewritten and partly deleted on SQLite in statements of
    /// every size [`sql::statements`] makes (its largest binds nearly 32,766 parameters).
    #[tokio::test]
    async fn sqlite_bulk_writes_of_every_statement_size_store_every_row() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("plera.db").display());
        let store = open_store(&url).await.expect("open store");
        let db = Db::of(&store);
        let table = SenderRow::table();
        let full = 32_766 / table.columns.len();
        let n = 2 * full + 4 * 16 + 3;
        let dump = || async {
            let mut query = sql::select(db.dialect(), table);
            query.push(&sql::order_by_key(table));
            db.fetch(&query, &sql::kinds(table)).await.expect("dump")
        };
        for tag in ["first", "second"] {
            let rows: Vec<Vec<Value>> = (0..n).map(|i| row(table, i, tag)).collect();
            let mut tx = db.begin().await.expect("begin");
            write_table(
                &mut tx,
                &db,
                table,
                &rows.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                &[],
            )
            .await
            .expect("upsert");
            tx.commit().await.expect("commit");
            assert_eq!(dump().await, rows, "every row, as written ({tag})");
        }
        let gone: Vec<Key> = (0..n)
            .step_by(3)
            .map(|i| table.key_of(&row(table, i, "")).expect("key"))
            .collect();
        let mut tx = db.begin().await.expect("begin");
        write_table(&mut tx, &db, table, &[], &gone.iter().collect::<Vec<_>>())
            .await
            .expect("delete");
        tx.commit().await.expect("commit");
        let kept: Vec<Vec<Value>> = (0..n)
            .filter(|i| i % 3 != 0)
            .map(|i| row(table, i, "second"))
            .collect();
        let left = dump().await;
        assert_eq!(left.len(), n - gone.len());
        assert_eq!(left, kept);
        store.close().await;
    }
}
