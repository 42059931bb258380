//! How a pure fold reads the rows it needs without touching a database.
//!
//! A fold runs against a [`Snapshot`] of rows the runner loaded. Every read it makes goes through
//! a [`Stage`]: rows the batch already wrote come from the stage itself; others come from the
//! snapshot if the runner loaded them, else the stage notes the [`Read`] as missing. A fold with
//! missing reads is thrown away: the runner loads what was missing (one query per table, for the
//! whole batch) and runs the fold again. Each round only adds rows, and a fold reads rows that
//! depend on at most a couple of earlier reads, so a batch settles in two or three rounds — never
//! one query per event.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use crate::rows::{cmp_tables, Change, Key, KeyPart, Record, Table, Value};
use crate::ProjectionError;

/// Rows of one table whose key starts with `prefix` (an empty prefix reads the whole table, a
/// full key one row).
#[derive(Clone, Debug)]
pub struct Read {
    /// The table.
    pub table: &'static Table,
    /// Leading key columns.
    pub prefix: Key,
}

impl PartialEq for Read {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Read {}

impl PartialOrd for Read {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Read {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_tables(self.table, other.table).then_with(|| self.prefix.cmp(&other.prefix))
    }
}

/// One table's loaded rows and the prefixes they answer. Keys are looked up by slice
/// (`Vec<KeyPart>: Borrow<[KeyPart]>`), so no lookup allocates.
#[derive(Clone, Debug, Default)]
struct LoadedTable {
    answered: BTreeSet<Key>,
    rows: BTreeMap<Key, Vec<Value>>,
}

impl LoadedTable {
    fn with_prefix<'a>(
        &'a self,
        prefix: &'a [KeyPart],
    ) -> impl Iterator<Item = (&'a Key, &'a Vec<Value>)> + 'a {
        self.rows
            .range::<[KeyPart], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
    }
}

/// Rows the runner loaded for a batch, and which reads they answer.
///
/// A snapshot is either *partial* (the incremental runner's: only the reads it answered are
/// known) or *complete* ([`Snapshot::complete`]: it holds every row of the tables it is used
/// for, so every read is answered; a rebuild keeps its views' rows in one).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    tables: BTreeMap<&'static str, LoadedTable>,
    complete: bool,
}

impl Snapshot {
    /// An empty snapshot (the first round of a batch).
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot that answers every read: its rows are all the rows there are (none at first).
    /// Keep it current with [`Snapshot::apply`] after each batch.
    pub fn complete() -> Self {
        Self {
            tables: BTreeMap::new(),
            complete: true,
        }
    }

    /// Records the answer to `read`: every row of its table whose key starts with its prefix.
    pub fn answer(&mut self, read: &Read, rows: Vec<Vec<Value>>) -> Result<(), ProjectionError> {
        let table = self.tables.entry(read.table.name).or_default();
        for row in rows {
            let key = read.table.key_of(&row)?;
            if !key.starts_with(&read.prefix) {
                return Err(read.table.error("a loaded row does not match its read"));
            }
            table.rows.insert(key, row);
        }
        table.answered.insert(read.prefix.clone());
        Ok(())
    }

    /// Applies a batch's changes to the rows (a complete snapshot stays the tables' state).
    pub fn apply(&mut self, changes: Vec<Change>) -> Result<(), ProjectionError> {
        for change in changes {
            match change {
                Change::Upsert { table, row } => {
                    let key = table.key_of(&row)?;
                    self.tables
                        .entry(table.name)
                        .or_default()
                        .rows
                        .insert(key, row);
                }
                Change::Delete { table, key } => {
                    if let Some(loaded) = self.tables.get_mut(table.name) {
                        loaded.rows.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether a read of `prefix` (or of a full key) is answered by an earlier, wider read.
    fn covers(&self, table: &'static str, prefix: &[KeyPart]) -> bool {
        self.complete
            || self.tables.get(table).is_some_and(|loaded| {
                (0..=prefix.len()).any(|n| loaded.answered.contains(&prefix[..n]))
            })
    }

    /// The loaded row of `table` with `key`.
    pub fn row(&self, table: &str, key: &[KeyPart]) -> Option<&Vec<Value>> {
        self.tables.get(table)?.rows.get(key)
    }

    /// Loaded rows of `table` whose key starts with `prefix`, in key order.
    fn with_prefix<'a>(
        &'a self,
        table: &'static str,
        prefix: &'a [KeyPart],
    ) -> impl Iterator<Item = (&'a Key, &'a Vec<Value>)> + 'a {
        self.tables
            .get(table)
            .into_iter()
            .flat_map(move |loaded| loaded.with_prefix(prefix))
    }

    /// How many rows are loaded.
    pub fn len(&self) -> usize {
        self.tables.values().map(|t| t.rows.len()).sum()
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(|t| t.rows.is_empty())
    }
}

/// What a fold over a batch came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Rows are missing: load these and run the fold again.
    Need(Vec<Read>),
    /// The batch's changes, one per row it touched, in table and key order.
    Done(Vec<Change>),
}

/// One table's staged writes (`None`: deleted).
struct Staged {
    table: &'static Table,
    rows: BTreeMap<Key, Option<Vec<Value>>>,
}

/// A fold's working copy of its rows for one batch: reads see the batch's own writes first.
pub struct Stage<'s> {
    snapshot: &'s Snapshot,
    writes: BTreeMap<&'static str, Staged>,
    missing: BTreeSet<Read>,
    misses: usize,
}

impl<'s> Stage<'s> {
    /// A stage over the rows loaded so far.
    pub fn new(snapshot: &'s Snapshot) -> Self {
        Self {
            snapshot,
            writes: BTreeMap::new(),
            missing: BTreeSet::new(),
            misses: 0,
        }
    }

    fn staged(&mut self, table: &'static Table) -> &mut BTreeMap<Key, Option<Vec<Value>>> {
        &mut self
            .writes
            .entry(table.name)
            .or_insert_with(|| Staged {
                table,
                rows: BTreeMap::new(),
            })
            .rows
    }

    /// The row of `R` with `key`, if there is one. While the row is not loaded this answers
    /// `None` and notes the read: the fold goes on (so that it finds every missing row at once)
    /// but its result is discarded.
    pub fn get<R: Record>(&mut self, key: Key) -> Result<Option<R>, ProjectionError> {
        let table = R::table();
        if let Some(staged) = self.writes.get(table.name).and_then(|s| s.rows.get(&key)) {
            return staged.as_deref().map(R::from_values).transpose();
        }
        if !self.snapshot.covers(table.name, &key) {
            self.misses += 1;
            self.missing.insert(Read { table, prefix: key });
            return Ok(None);
        }
        self.snapshot
            .row(table.name, &key)
            .map(|row| R::from_values(row))
            .transpose()
    }

    /// Every row of `R` whose key starts with `prefix`, in key order, the batch's writes applied.
    pub fn scan<R: Record>(&mut self, prefix: Key) -> Result<Vec<R>, ProjectionError> {
        let table = R::table();
        if !self.snapshot.covers(table.name, &prefix) {
            self.misses += 1;
            self.missing.insert(Read { table, prefix });
            return Ok(Vec::new());
        }
        let mut rows: BTreeMap<&Key, Option<&Vec<Value>>> = self
            .snapshot
            .with_prefix(table.name, &prefix)
            .map(|(k, v)| (k, Some(v)))
            .collect();
        if let Some(staged) = self.writes.get(table.name) {
            for (key, row) in staged
                .rows
                .range::<[KeyPart], _>((Bound::Included(prefix.as_slice()), Bound::Unbounded))
                .take_while(|(k, _)| k.starts_with(&prefix))
            {
                rows.insert(key, row.as_ref());
            }
        }
        rows.into_values()
            .flatten()
            .map(|r| R::from_values(r))
            .collect()
    }

    /// Writes a row (insert or replace).
    pub fn put<R: Record>(&mut self, row: &R) {
        let table = R::table();
        let values = row.to_values();
        // Key columns of a declared record are ints or text by construction.
        let key = table.key_of(&values).unwrap_or_default();
        self.staged(table).insert(key, Some(values));
    }

    /// Deletes the row of `R` with `key`.
    pub fn delete<R: Record>(&mut self, key: Key) {
        self.staged(R::table()).insert(key, None);
    }

    /// Whether a read was missing so far.
    pub fn is_missing_rows(&self) -> bool {
        !self.missing.is_empty()
    }

    /// How many reads went unanswered so far (a read missed twice counts twice). A fold compares it around one event's reads to skip
    /// only that event: bailing out on any earlier miss would hide this event's own reads until
    /// a later round, and a batch would need a round per event instead of two or three.
    pub fn missing_reads(&self) -> usize {
        self.misses
    }

    /// The batch's outcome. A write that leaves a loaded row as it was is dropped, so that a
    /// batch only writes what it changed.
    pub fn finish(self) -> Outcome {
        if !self.missing.is_empty() {
            return Outcome::Need(self.missing.into_iter().collect());
        }
        let mut changes = Vec::new();
        for (name, Staged { table, rows }) in self.writes {
            for (key, row) in rows {
                let before = self.snapshot.row(name, &key);
                let known_absent = before.is_none() && self.snapshot.covers(name, &key);
                match row {
                    Some(row) if before != Some(&row) => {
                        changes.push(Change::Upsert { table, row })
                    }
                    None if before.is_some() || !known_absent => {
                        changes.push(Change::Delete { table, key })
                    }
                    _ => {}
                }
            }
        }
        Outcome::Done(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::KeyPart;

    crate::record! {
        /// A row for the tests.
        pub struct Pair in "pairs", key 2 {
            /// First key part.
            pub a: String,
            /// Second key part.
            pub b: String,
            /// Payload.
            pub n: i64,
        }
    }

    fn pair(a: &str, b: &str, n: i64) -> Pair {
        Pair {
            a: a.into(),
            b: b.into(),
            n,
        }
    }

    fn key(parts: &[&str]) -> Key {
        parts.iter().map(|p| KeyPart::from(*p)).collect()
    }

    #[test]
    fn an_unloaded_row_is_noted_as_missing_and_the_outcome_asks_for_it() {
        let snapshot = Snapshot::new();
        let mut stage = Stage::new(&snapshot);
        assert_eq!(stage.get::<Pair>(key(&["x", "1"])).unwrap(), None);
        assert!(stage.is_missing_rows());
        let Outcome::Need(reads) = stage.finish() else {
            panic!("the fold must ask for the row");
        };
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].prefix, key(&["x", "1"]));
    }

    #[test]
    fn loaded_rows_answer_reads_and_unchanged_rows_are_not_written() {
        let mut snapshot = Snapshot::new();
        let read = Read {
            table: Pair::table(),
            prefix: key(&["x"]),
        };
        snapshot
            .answer(
                &read,
                vec![pair("x", "1", 1).to_values(), pair("x", "2", 2).to_values()],
            )
            .unwrap();
        let mut stage = Stage::new(&snapshot);
        // A full key under a loaded prefix is answered, present or not.
        assert_eq!(
            stage.get::<Pair>(key(&["x", "1"])).unwrap(),
            Some(pair("x", "1", 1))
        );
        assert_eq!(stage.get::<Pair>(key(&["x", "9"])).unwrap(), None);
        stage.put(&pair("x", "1", 1));
        stage.put(&pair("x", "2", 20));
        stage.put(&pair("x", "3", 3));
        stage.delete::<Pair>(key(&["x", "9"]));
        assert_eq!(
            stage.scan::<Pair>(key(&["x"])).unwrap(),
            vec![pair("x", "1", 1), pair("x", "2", 20), pair("x", "3", 3)]
        );
        assert!(!stage.is_missing_rows());
        let Outcome::Done(changes) = stage.finish() else {
            panic!("nothing is missing");
        };
        assert_eq!(
            changes,
            vec![
                Change::Upsert {
                    table: Pair::table(),
                    row: pair("x", "2", 20).to_values()
                },
                Change::Upsert {
                    table: Pair::table(),
                    row: pair("x", "3", 3).to_values()
                },
            ]
        );
    }

    #[test]
    fn rows_written_by_the_batch_need_no_load() {
        let snapshot = Snapshot::new();
        let mut stage = Stage::new(&snapshot);
        stage.put(&pair("y", "1", 5));
        assert_eq!(
            stage.get::<Pair>(key(&["y", "1"])).unwrap(),
            Some(pair("y", "1", 5))
        );
        stage.delete::<Pair>(key(&["y", "1"]));
        assert_eq!(stage.get::<Pair>(key(&["y", "1"])).unwrap(), None);
        assert!(!stage.is_missing_rows());
    }

    #[test]
    fn a_complete_snapshot_answers_every_read_and_follows_the_changes() {
        let mut snapshot = Snapshot::complete();
        let mut stage = Stage::new(&snapshot);
        // Nothing to load: an absent row is known absent.
        assert_eq!(stage.get::<Pair>(key(&["x", "1"])).unwrap(), None);
        assert!(stage.scan::<Pair>(key(&["x"])).unwrap().is_empty());
        stage.put(&pair("x", "1", 1));
        stage.put(&pair("x", "2", 2));
        // A delete of a row that never was is no change.
        stage.delete::<Pair>(key(&["x", "9"]));
        let Outcome::Done(changes) = stage.finish() else {
            panic!("a complete snapshot never asks for rows");
        };
        assert_eq!(changes.len(), 2);
        snapshot.apply(changes).unwrap();
        assert_eq!(snapshot.len(), 2);

        let mut stage = Stage::new(&snapshot);
        assert_eq!(
            stage.get::<Pair>(key(&["x", "2"])).unwrap(),
            Some(pair("x", "2", 2))
        );
        stage.put(&pair("x", "2", 2));
        stage.delete::<Pair>(key(&["x", "1"]));
        let Outcome::Done(changes) = stage.finish() else {
            panic!("nothing is missing");
        };
        assert_eq!(
            changes,
            vec![Change::Delete {
                table: Pair::table(),
                key: key(&["x", "1"])
            }],
            "an unchanged row is not written again; a delete of a present row is"
        );
        snapshot.apply(changes).unwrap();
        assert_eq!(snapshot.row("pairs", &key(&["x", "1"])), None);
        assert_eq!(
            snapshot.row("pairs", &key(&["x", "2"])),
            Some(&pair("x", "2", 2).to_values())
        );
    }

    #[test]
    fn a_wider_read_answers_narrower_ones_of_its_table_only() {
        let mut snapshot = Snapshot::new();
        snapshot
            .answer(
                &Read {
                    table: Pair::table(),
                    prefix: key(&["x"]),
                },
                vec![pair("x", "1", 1).to_values()],
            )
            .unwrap();
        let mut stage = Stage::new(&snapshot);
        assert_eq!(stage.get::<Pair>(key(&["x", "7"])).unwrap(), None);
        assert!(!stage.is_missing_rows(), "x/7 is known absent under x");
        assert!(stage.scan::<Pair>(key(&["y"])).unwrap().is_empty());
        assert_eq!(stage.missing_reads(), 1, "y was never read");
        assert!(!snapshot.covers("other", &[]));
    }
}
