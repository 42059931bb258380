//! How a pure fold reads the rows it needs without touching a database.
//!
//! A fold runs against a [`Snapshot`] of rows the runner loaded. Every read it makes goes through
//! a [`Stage`]: rows the batch already wrote come from the stage itself; others come from the
//! snapshot if the runner loaded them, else the stage notes the [`Read`] as missing. A fold with
//! missing reads is thrown away: the runner loads what was missing (one query per table, for the
//! whole batch) and runs the fold again. Each round only adds rows, and a fold reads rows that
//! depend on at most a couple of earlier reads, so a batch settles in two or three rounds — never
//! one query per event.

use std::any::Any;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, OnceLock};

use crate::envelope::Decoded;
use crate::projection::Projection;
use crate::rows::{cmp_tables, Change, Key, KeyHasher, KeyPart, Record, Table, Value};
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

/// A loaded row, shared: a rebuild's flush holds the rows it writes without copying them, and a
/// row replaced meanwhile is a new one.
pub type Row = Arc<[Value]>;

/// One table's loaded rows and the prefixes they answer.
///
/// Rows are found by hash (`Vec<KeyPart>: Borrow<[KeyPart]>`, so no lookup allocates): keys
/// are text ids with long common prefixes, and ordered maps spent a rebuild's time comparing
/// them. Key order is needed by prefix scans only, so the ordered index of the keys is built
/// the first time a table is scanned and kept from then on: tables never scanned never pay.
#[derive(Clone, Debug, Default)]
struct LoadedTable {
    answered: BTreeSet<Key>,
    rows: HashMap<Key, Row, KeyHasher>,
    ordered: OnceLock<BTreeSet<Key>>,
}

impl LoadedTable {
    fn with_prefix<'a>(
        &'a self,
        prefix: &'a [KeyPart],
    ) -> impl Iterator<Item = (&'a Key, &'a Row)> + 'a {
        let ordered = self
            .ordered
            .get_or_init(|| self.rows.keys().cloned().collect());
        ordered
            .range::<[KeyPart], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |k| k.starts_with(prefix))
            .filter_map(|k| self.rows.get_key_value(k.as_slice()))
    }

    /// Inserts or replaces a row, keeping the ordered index (if built) current. A new row takes
    /// `key` (left empty); a replaced one leaves it to the caller to reuse.
    fn put(&mut self, key: &mut Key, row: Row) {
        match self.rows.get_mut(key.as_slice()) {
            Some(loaded) => *loaded = row,
            None => {
                if let Some(ordered) = self.ordered.get_mut() {
                    ordered.insert(key.clone());
                }
                self.rows.insert(std::mem::take(key), row);
            }
        }
    }

    /// Removes a row, keeping the ordered index (if built) current.
    fn remove(&mut self, key: &[KeyPart]) {
        if self.rows.remove(key).is_some() {
            if let Some(ordered) = self.ordered.get_mut() {
                ordered.remove(key);
            }
        }
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
            let mut key = read.table.key_of(&row)?;
            if !key.starts_with(&read.prefix) {
                return Err(read.table.error("a loaded row does not match its read"));
            }
            table.put(&mut key, Row::from(row));
        }
        table.answered.insert(read.prefix.clone());
        Ok(())
    }

    /// Applies a batch's changes to the rows (a complete snapshot stays the tables' state).
    pub fn apply(&mut self, changes: Vec<Change>) -> Result<(), ProjectionError> {
        self.apply_noting(changes, |_, _| {})
    }

    /// Folds `events` into a complete snapshot with `view`: one run of the fold (a complete
    /// snapshot answers every read), its changes applied. Returns how many rows changed.
    pub fn fold(
        &mut self,
        view: &dyn Projection,
        events: &[Decoded],
    ) -> Result<usize, ProjectionError> {
        self.fold_noting(view, events, |_, _| {})
    }

    /// [`Snapshot::fold`], telling `changed` the table and key of every row written or deleted
    /// (a rebuild's dirty set), from the key the snapshot makes anyway.
    pub fn fold_noting(
        &mut self,
        view: &dyn Projection,
        events: &[Decoded],
        changed: impl FnMut(&'static Table, &[KeyPart]),
    ) -> Result<usize, ProjectionError> {
        // A partial snapshot may not answer every read: the fold asks, and that is the error.
        match view.apply(events, self)? {
            Outcome::Done(changes) => {
                let n = changes.len();
                self.apply_noting(changes, changed)?;
                Ok(n)
            }
            Outcome::Need(_) => Err(ProjectionError::Unsettled {
                view: view.name(),
                rounds: 1,
            }),
        }
    }

    fn apply_noting(
        &mut self,
        changes: Vec<Change>,
        mut changed: impl FnMut(&'static Table, &[KeyPart]),
    ) -> Result<(), ProjectionError> {
        // One key, rewritten per row: a replaced row costs no key of its own.
        let mut key = Key::new();
        for change in changes {
            match change {
                Change::Upsert { table, row } => {
                    table.key_into(&row, &mut key)?;
                    changed(table, &key);
                    self.tables
                        .entry(table.name)
                        .or_default()
                        .put(&mut key, Row::from(row));
                }
                Change::Delete { table, key } => {
                    changed(table, &key);
                    if let Some(loaded) = self.tables.get_mut(table.name) {
                        loaded.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    /// Every loaded row of `table` with its key, in key order (of a complete snapshot: the
    /// table's rows).
    pub fn rows_of<'a>(&'a self, table: &str) -> impl Iterator<Item = (&'a Key, &'a Row)> + 'a {
        // Sorted here rather than through the scans' ordered index: a whole-table read (the
        // audit's, once at its end) has no later scan to keep an index for.
        let mut rows: Vec<(&Key, &Row)> = self
            .tables
            .get(table)
            .into_iter()
            .flat_map(|loaded| loaded.rows.iter())
            .collect();
        rows.sort_unstable_by_key(|(key, _)| *key);
        rows.into_iter()
    }

    /// Whether a read of `prefix` (or of a full key) is answered by an earlier, wider read.
    fn covers(&self, table: &'static str, prefix: &[KeyPart]) -> bool {
        self.complete
            || self.tables.get(table).is_some_and(|loaded| {
                (0..=prefix.len()).any(|n| loaded.answered.contains(&prefix[..n]))
            })
    }

    /// The loaded row of `table` with `key`.
    pub fn row(&self, table: &str, key: &[KeyPart]) -> Option<&Row> {
        self.tables.get(table)?.rows.get(key)
    }

    /// Loaded rows of `table` whose key starts with `prefix`, in key order.
    fn with_prefix<'a>(
        &'a self,
        table: &'static str,
        prefix: &'a [KeyPart],
    ) -> impl Iterator<Item = (&'a Key, &'a Row)> + 'a {
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

/// A row a stage holds typed, whatever its record: what the stage needs of it at the end of the
/// batch (its cells, and whether they are the loaded ones), and the way back to its type.
trait StagedRow {
    /// The row's cells, moved out of it.
    fn into_values(self: Box<Self>) -> Vec<Value>;
    /// Whether the row's cells are `values`.
    fn same_as(&self, values: &[Value]) -> bool;
    /// The row, to downcast by reference.
    fn as_any(&self) -> &dyn Any;
    /// The row, to downcast in place.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The row, to downcast by value.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<R: Record> StagedRow for R {
    fn into_values(self: Box<Self>) -> Vec<Value> {
        Record::into_values(*self)
    }
    fn same_as(&self, values: &[Value]) -> bool {
        self.eq_values(values)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// What a staged row is now.
enum Now {
    /// Written (typed).
    Written(Box<dyn StagedRow>),
    /// Deleted.
    Deleted,
    /// Moved out by [`Stage::take`], not put back yet.
    Taken,
}

/// The loaded row a staged one replaces, when the stage already looked it up (so that
/// [`Stage::finish`] does not look it up again).
#[derive(Clone, Copy)]
enum Before<'s> {
    /// Not looked up.
    Unknown,
    /// Looked up in a snapshot that answers its read: the row, or `None` when there is none.
    Known(Option<&'s [Value]>),
}

/// A staged write.
struct Slot<'s> {
    now: Now,
    before: Before<'s>,
}

/// One table's staged writes.
struct Staged<'s> {
    table: &'static Table,
    rows: HashMap<Key, Slot<'s>, KeyHasher>,
}

/// The error of a staged row that is not of the record asked for (two records declared with one
/// table name).
fn wrong_record<R: Record>() -> ProjectionError {
    R::table().error("a staged row is of another record with this table name")
}

/// The error of a row read while taken: a fold that did not put it back.
fn taken<R: Record>() -> ProjectionError {
    R::table().error("a row was read while taken (Stage::take without a put)")
}

/// A staged row as `R`.
fn typed<R: Record>(row: &dyn StagedRow) -> Result<&R, ProjectionError> {
    row.as_any()
        .downcast_ref::<R>()
        .ok_or_else(wrong_record::<R>)
}

/// A fold's working copy of its rows for one batch: reads see the batch's own writes first.
///
/// The rows a batch writes stay typed until [`Stage::finish`] turns each touched row into its
/// values once: a row read and written again and again in a batch (a campaign's counters) costs
/// no conversion per event, and [`Stage::update`] changes it in place.
pub struct Stage<'s> {
    snapshot: &'s Snapshot,
    writes: BTreeMap<&'static str, Staged<'s>>,
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

    fn staged(&mut self, table: &'static Table) -> &mut HashMap<Key, Slot<'s>, KeyHasher> {
        &mut self
            .writes
            .entry(table.name)
            .or_insert_with(|| Staged {
                table,
                rows: HashMap::default(),
            })
            .rows
    }

    /// The staged write of `R` with `key`, if any.
    fn slot<R: Record>(&mut self, key: &Key) -> Option<&mut Slot<'s>> {
        self.writes.get_mut(R::table().name)?.rows.get_mut(key)
    }

    /// The loaded row of `R` with `key` (not looking at the batch's writes), typed, and what it
    /// is as values. While the row is not loaded this answers `None` and notes the read.
    fn loaded<R: Record>(&mut self, key: &Key) -> Result<(Option<R>, Before<'s>), ProjectionError> {
        let table = R::table();
        let snapshot: &'s Snapshot = self.snapshot;
        if !snapshot.covers(table.name, key) {
            self.misses += 1;
            self.missing.insert(Read {
                table,
                prefix: key.clone(),
            });
            return Ok((None, Before::Unknown));
        }
        let row = snapshot.row(table.name, key).map(|row| &**row);
        let typed = row.map(R::from_values).transpose()?;
        Ok((typed, Before::Known(row)))
    }

    /// The row of `R` with `key`, if there is one. While the row is not loaded this answers
    /// `None` and notes the read: the fold goes on (so that it finds every missing row at once)
    /// but its result is discarded.
    pub fn get<R: Record>(&mut self, key: Key) -> Result<Option<R>, ProjectionError> {
        match self.slot::<R>(&key).map(|slot| &slot.now) {
            Some(Now::Written(row)) => typed::<R>(row.as_ref()).cloned().map(Some),
            Some(Now::Deleted) => Ok(None),
            Some(Now::Taken) => Err(taken::<R>()),
            None => self.loaded(&key).map(|(row, _)| row),
        }
    }

    /// Moves the row of `R` with `key` out of the stage, as [`Stage::get`] reads it but without
    /// copying it (and, for a row known absent, remembering that for the row's write). For a fold that changes a row while it reads and writes others: it must
    /// [`Stage::put_owned`] the row back (changed or not) or [`Stage::delete`] it; until then
    /// the row cannot be read, and a row never put back is left as it was loaded (the batch's
    /// earlier writes to it are lost).
    pub fn take<R: Record>(&mut self, key: Key) -> Result<Option<R>, ProjectionError> {
        if let Some(slot) = self.slot::<R>(&key) {
            return match std::mem::replace(&mut slot.now, Now::Taken) {
                Now::Written(row) => row
                    .into_any()
                    .downcast::<R>()
                    .map(|row| Some(*row))
                    .map_err(|_| wrong_record::<R>()),
                Now::Deleted => {
                    slot.now = Now::Deleted;
                    Ok(None)
                }
                Now::Taken => Err(taken::<R>()),
            };
        }
        let (row, before) = self.loaded::<R>(&key)?;
        let now = match (&row, before) {
            (Some(_), _) => Now::Taken,
            // Known absent: staged as deleted (the same to every read, and no change), so that
            // a row the fold then writes is not looked up again.
            (None, Before::Known(None)) => Now::Deleted,
            (None, _) => return Ok(None),
        };
        self.staged(R::table()).insert(key, Slot { now, before });
        Ok(row)
    }

    /// Changes the row of `R` with `key` in place, or writes `change(new())` when there is no
    /// such row (`new` must make a row with that key). While the row is not loaded the read is
    /// noted, as by [`Stage::get`], and the new row is written: the batch's result is discarded
    /// anyway.
    pub fn update<R: Record>(
        &mut self,
        key: Key,
        new: impl FnOnce() -> R,
        change: impl FnOnce(&mut R),
    ) -> Result<(), ProjectionError> {
        if let Some(slot) = self.slot::<R>(&key) {
            match &mut slot.now {
                Now::Written(row) => {
                    let row = row
                        .as_any_mut()
                        .downcast_mut::<R>()
                        .ok_or_else(wrong_record::<R>)?;
                    change(row);
                }
                Now::Deleted => {
                    let mut row = new();
                    change(&mut row);
                    slot.now = Now::Written(Box::new(row));
                }
                Now::Taken => return Err(taken::<R>()),
            }
            return Ok(());
        }
        let (row, before) = self.loaded::<R>(&key)?;
        let mut row = row.unwrap_or_else(new);
        change(&mut row);
        self.staged(R::table()).insert(
            key,
            Slot {
                now: Now::Written(Box::new(row)),
                before,
            },
        );
        Ok(())
    }

    /// Every row of `R` whose key starts with `prefix`, in key order, the batch's writes applied.
    pub fn scan<R: Record>(&mut self, prefix: Key) -> Result<Vec<R>, ProjectionError> {
        let table = R::table();
        if !self.snapshot.covers(table.name, &prefix) {
            self.misses += 1;
            self.missing.insert(Read { table, prefix });
            return Ok(Vec::new());
        }
        /// A row as the scan finds it: loaded, or staged by the batch.
        enum Found<'a> {
            Loaded(&'a [Value]),
            Staged(&'a Now),
        }
        let mut rows: BTreeMap<&Key, Found<'_>> = self
            .snapshot
            .with_prefix(table.name, &prefix)
            .map(|(k, v)| (k, Found::Loaded(v)))
            .collect();
        // A batch's own writes are few and scans rare: they are looked through, not indexed.
        if let Some(staged) = self.writes.get(table.name) {
            for (key, slot) in staged.rows.iter().filter(|(k, _)| k.starts_with(&prefix)) {
                rows.insert(key, Found::Staged(&slot.now));
            }
        }
        rows.into_values()
            .filter_map(|found| match found {
                Found::Loaded(values) => Some(R::from_values(values)),
                Found::Staged(Now::Written(row)) => Some(typed::<R>(row.as_ref()).cloned()),
                Found::Staged(Now::Deleted) => None,
                Found::Staged(Now::Taken) => Some(Err(taken::<R>())),
            })
            .collect()
    }

    /// Writes a copy of a row (insert or replace).
    pub fn put<R: Record>(&mut self, row: &R) {
        self.put_owned(row.clone());
    }

    /// Writes a row (insert or replace), without copying it.
    pub fn put_owned<R: Record>(&mut self, row: R) {
        let key = row.key();
        let staged = self.staged(R::table());
        if let Some(slot) = staged.get_mut(&key) {
            match &mut slot.now {
                Now::Written(old) => match old.as_any_mut().downcast_mut::<R>() {
                    Some(old) => *old = row,
                    None => *old = Box::new(row),
                },
                now => *now = Now::Written(Box::new(row)),
            }
            return;
        }
        staged.insert(
            key,
            Slot {
                now: Now::Written(Box::new(row)),
                before: Before::Unknown,
            },
        );
    }

    /// Deletes the row of `R` with `key`.
    pub fn delete<R: Record>(&mut self, key: Key) {
        let staged = self.staged(R::table());
        if let Some(slot) = staged.get_mut(&key) {
            slot.now = Now::Deleted;
            return;
        }
        staged.insert(
            key,
            Slot {
                now: Now::Deleted,
                before: Before::Unknown,
            },
        );
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
        let snapshot: &'s Snapshot = self.snapshot;
        let mut changes = Vec::with_capacity(self.writes.values().map(|s| s.rows.len()).sum());
        for (name, Staged { table, rows }) in self.writes {
            let mut rows: Vec<(Key, Slot<'s>)> = rows.into_iter().collect();
            rows.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
            for (key, Slot { now, before }) in rows {
                let (before, known_absent) = match before {
                    Before::Known(row) => (row, row.is_none()),
                    Before::Unknown => {
                        let row = snapshot.row(name, &key).map(|row| &**row);
                        (row, row.is_none() && snapshot.covers(name, &key))
                    }
                };
                match now {
                    Now::Written(row) if !before.is_some_and(|b| row.same_as(b)) => {
                        changes.push(Change::Upsert {
                            table,
                            row: row.into_values(),
                        })
                    }
                    Now::Deleted if before.is_some() || !known_absent => {
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

    /// Whatever the events: bumps row (x, 1) and deletes row (x, 2).
    struct Bumps;

    impl Projection for Bumps {
        fn name(&self) -> &'static str {
            "bumps"
        }
        fn version(&self) -> u32 {
            1
        }
        fn tables(&self) -> Vec<&'static Table> {
            vec![Pair::table()]
        }
        fn apply(&self, _: &[Decoded], rows: &Snapshot) -> Result<Outcome, ProjectionError> {
            let mut stage = Stage::new(rows);
            let n = stage.get::<Pair>(key(&["x", "1"]))?.map_or(0, |p| p.n);
            if stage.is_missing_rows() {
                return Ok(stage.finish());
            }
            stage.put_owned(pair("x", "1", n + 1));
            stage.delete::<Pair>(key(&["x", "2"]));
            Ok(stage.finish())
        }
    }

    #[test]
    fn a_fold_into_a_complete_snapshot_applies_its_changes_and_names_their_keys() {
        let mut snapshot = Snapshot::complete();
        snapshot
            .apply(vec![Change::Upsert {
                table: Pair::table(),
                row: pair("x", "2", 5).to_values(),
            }])
            .unwrap();
        let mut noted = Vec::new();
        let n = snapshot
            .fold_noting(&Bumps, &[], |table, key| {
                noted.push((table.name, key.to_vec()))
            })
            .unwrap();
        assert_eq!(n, 2);
        noted.sort();
        assert_eq!(
            noted,
            vec![("pairs", key(&["x", "1"])), ("pairs", key(&["x", "2"]))]
        );
        assert_eq!(snapshot.fold(&Bumps, &[]).unwrap(), 1);
        let rows: Vec<_> = snapshot
            .rows_of("pairs")
            .map(|(k, row)| (k, row.to_vec()))
            .collect();
        assert_eq!(
            rows,
            vec![(&key(&["x", "1"]), pair("x", "1", 2).to_values())]
        );
    }

    #[test]
    fn a_fold_into_a_partial_snapshot_that_lacks_rows_is_unsettled() {
        let mut snapshot = Snapshot::new();
        assert!(matches!(
            snapshot.fold(&Bumps, &[]),
            Err(ProjectionError::Unsettled {
                view: "bumps",
                rounds: 1
            })
        ));
        assert!(snapshot.is_empty());
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
            snapshot
                .row("pairs", &key(&["x", "2"]))
                .map(|row| row.to_vec()),
            Some(pair("x", "2", 2).to_values())
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

    #[test]
    fn update_changes_the_batch_row_in_place_or_makes_a_new_one() {
        let mut snapshot = Snapshot::complete();
        snapshot
            .apply(vec![Change::Upsert {
                table: Pair::table(),
                row: pair("x", "1", 1).to_values(),
            }])
            .unwrap();
        let mut stage = Stage::new(&snapshot);
        let new = |b: &str| {
            let b = b.to_owned();
            move || pair("x", &b, 0)
        };
        // From the snapshot, then from the batch's own write.
        stage
            .update(key(&["x", "1"]), new("1"), |p| p.n += 10)
            .unwrap();
        stage
            .update(key(&["x", "1"]), new("1"), |p| p.n += 10)
            .unwrap();
        // Absent: a new row.
        stage
            .update(key(&["x", "2"]), new("2"), |p| p.n += 1)
            .unwrap();
        // Deleted in the batch: a new row again.
        stage.put(&pair("x", "3", 3));
        stage.delete::<Pair>(key(&["x", "3"]));
        stage
            .update(key(&["x", "3"]), new("3"), |p| p.n += 5)
            .unwrap();
        assert_eq!(
            stage.get::<Pair>(key(&["x", "1"])).unwrap(),
            Some(pair("x", "1", 21))
        );
        let Outcome::Done(changes) = stage.finish() else {
            panic!("a complete snapshot never asks for rows");
        };
        assert_eq!(
            changes,
            vec![
                Change::Upsert {
                    table: Pair::table(),
                    row: pair("x", "1", 21).to_values()
                },
                Change::Upsert {
                    table: Pair::table(),
                    row: pair("x", "2", 1).to_values()
                },
                Change::Upsert {
                    table: Pair::table(),
                    row: pair("x", "3", 5).to_values()
                },
            ]
        );
    }

    #[test]
    fn update_of_an_unloaded_row_notes_the_read() {
        let snapshot = Snapshot::new();
        let mut stage = Stage::new(&snapshot);
        stage
            .update(key(&["x", "1"]), || pair("x", "1", 0), |p| p.n += 1)
            .unwrap();
        assert_eq!(stage.missing_reads(), 1);
        let Outcome::Need(reads) = stage.finish() else {
            panic!("the fold must ask for the row");
        };
        assert_eq!(reads[0].prefix, key(&["x", "1"]));
    }

    #[test]
    fn a_row_known_absent_when_taken_stays_absent_until_written() {
        let snapshot = Snapshot::complete();
        let mut stage = Stage::new(&snapshot);
        assert_eq!(stage.take::<Pair>(key(&["x", "1"])).unwrap(), None);
        assert_eq!(stage.take::<Pair>(key(&["x", "2"])).unwrap(), None);
        assert_eq!(stage.get::<Pair>(key(&["x", "1"])).unwrap(), None);
        assert!(stage.scan::<Pair>(key(&["x"])).unwrap().is_empty());
        stage.put_owned(pair("x", "2", 2));
        let Outcome::Done(changes) = stage.finish() else {
            panic!("a complete snapshot never asks for rows");
        };
        assert_eq!(
            changes,
            vec![Change::Upsert {
                table: Pair::table(),
                row: pair("x", "2", 2).to_values()
            }],
            "a row only read is no change; a row then written is"
        );
    }

    #[test]
    fn a_row_taken_and_put_back_unchanged_is_not_written() {
        let mut snapshot = Snapshot::complete();
        snapshot
            .apply(vec![Change::Upsert {
                table: Pair::table(),
                row: pair("x", "1", 1).to_values(),
            }])
            .unwrap();
        let mut stage = Stage::new(&snapshot);
        let row = stage.take::<Pair>(key(&["x", "1"])).unwrap();
        assert_eq!(row, Some(pair("x", "1", 1)));
        stage.put_owned(pair("x", "1", 1));
        // Taken from the batch's writes: the write itself, moved out.
        stage.put_owned(pair("x", "2", 2));
        let mut row = stage.take::<Pair>(key(&["x", "2"])).unwrap().unwrap();
        row.n += 1;
        stage.put_owned(row);
        // A deleted row stays deleted.
        stage.delete::<Pair>(key(&["x", "1"]));
        assert_eq!(stage.take::<Pair>(key(&["x", "1"])).unwrap(), None);
        let Outcome::Done(changes) = stage.finish() else {
            panic!("a complete snapshot never asks for rows");
        };
        assert_eq!(
            changes,
            vec![
                Change::Delete {
                    table: Pair::table(),
                    key: key(&["x", "1"])
                },
                Change::Upsert {
                    table: Pair::table(),
                    row: pair("x", "2", 3).to_values()
                },
            ]
        );
    }

    /// The stage against a model that keeps every write as values (what the stage did before it
    /// kept them typed): the same reads answer the same rows, and the batch the same changes.
    mod model {
        use proptest::prelude::*;

        use super::*;

        #[derive(Clone, Debug)]
        enum Op {
            Get(usize),
            Put(usize, i64),
            Delete(usize),
            Update(usize, i64),
            TakePut(usize, i64),
            Scan(usize),
        }

        const A: [&str; 2] = ["x", "y"];
        const B: [&str; 3] = ["1", "2", "3"];

        fn names(i: usize) -> (&'static str, &'static str) {
            (A[i / B.len() % A.len()], B[i % B.len()])
        }

        fn op() -> impl Strategy<Value = Op> {
            let k = 0..A.len() * B.len();
            prop_oneof![
                k.clone().prop_map(Op::Get),
                (k.clone(), -3i64..4).prop_map(|(k, n)| Op::Put(k, n)),
                k.clone().prop_map(Op::Delete),
                (k.clone(), -3i64..4).prop_map(|(k, n)| Op::Update(k, n)),
                (k, -3i64..4).prop_map(|(k, n)| Op::TakePut(k, n)),
                (0..A.len()).prop_map(Op::Scan),
            ]
        }

        proptest! {
            #[test]
            fn the_stage_behaves_as_the_values_model(
                complete: bool,
                loaded in proptest::collection::btree_map(0..A.len() * B.len(), -3i64..4, 0..6),
                batches in proptest::collection::vec(
                    proptest::collection::vec(op(), 0..24), 1..4),
            ) {
                let mut state: BTreeMap<Key, Vec<Value>> = BTreeMap::new();
                for (&i, &n) in &loaded {
                    let (a, b) = names(i);
                    state.insert(key(&[a, b]), pair(a, b, n).to_values());
                }
                // A complete snapshot (the rebuild's), or one that loaded every prefix read (the
                // incremental runner's).
                let mut snapshot = if complete {
                    let mut snapshot = Snapshot::complete();
                    let initial = state
                        .values()
                        .map(|row| Change::Upsert { table: Pair::table(), row: row.clone() })
                        .collect();
                    snapshot.apply(initial).unwrap();
                    snapshot
                } else {
                    let mut snapshot = Snapshot::new();
                    for a in A {
                        let prefix = key(&[a]);
                        let rows = state
                            .iter()
                            .filter(|(k, _)| k.starts_with(&prefix))
                            .map(|(_, row)| row.clone())
                            .collect();
                        snapshot
                            .answer(&Read { table: Pair::table(), prefix }, rows)
                            .unwrap();
                    }
                    snapshot
                };
                for ops in batches {
                    let mut stage = Stage::new(&snapshot);
                    let mut writes: BTreeMap<Key, Option<Vec<Value>>> = BTreeMap::new();
                    let model_get = |writes: &BTreeMap<Key, Option<Vec<Value>>>, k: &Key| {
                        match writes.get(k) {
                            Some(w) => w.as_deref().map(|v| Pair::from_values(v).unwrap()),
                            None => state.get(k).map(|v| Pair::from_values(v).unwrap()),
                        }
                    };
                    for op in ops {
                        match op {
                            Op::Get(i) => {
                                let (a, b) = names(i);
                                let k = key(&[a, b]);
                                prop_assert_eq!(stage.get::<Pair>(k.clone()).unwrap(), model_get(&writes, &k));
                            }
                            Op::Put(i, n) => {
                                let (a, b) = names(i);
                                stage.put(&pair(a, b, n));
                                writes.insert(key(&[a, b]), Some(pair(a, b, n).to_values()));
                            }
                            Op::Delete(i) => {
                                let (a, b) = names(i);
                                stage.delete::<Pair>(key(&[a, b]));
                                writes.insert(key(&[a, b]), None);
                            }
                            Op::Update(i, n) => {
                                let (a, b) = names(i);
                                let k = key(&[a, b]);
                                stage.update(k.clone(), || pair(a, b, 0), |p| p.n += n).unwrap();
                                let mut row = model_get(&writes, &k).unwrap_or_else(|| pair(a, b, 0));
                                row.n += n;
                                writes.insert(k, Some(row.to_values()));
                            }
                            Op::TakePut(i, n) => {
                                let (a, b) = names(i);
                                let k = key(&[a, b]);
                                let taken = stage.take::<Pair>(k.clone()).unwrap();
                                let expected = model_get(&writes, &k);
                                prop_assert_eq!(&taken, &expected);
                                if let Some(mut row) = taken {
                                    row.n += n;
                                    stage.put_owned(row.clone());
                                    writes.insert(k, Some(row.to_values()));
                                }
                            }
                            Op::Scan(i) => {
                                let prefix = key(&[A[i]]);
                                let mut expected: BTreeMap<Key, Option<Vec<Value>>> = state
                                    .range(prefix.clone()..)
                                    .take_while(|(k, _)| k.starts_with(&prefix))
                                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                                    .collect();
                                for (k, w) in writes.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
                                    expected.insert(k.clone(), w.clone());
                                }
                                let expected: Vec<Pair> = expected
                                    .into_values()
                                    .flatten()
                                    .map(|v| Pair::from_values(&v).unwrap())
                                    .collect();
                                prop_assert_eq!(stage.scan::<Pair>(prefix).unwrap(), expected);
                            }
                        }
                    }
                    let mut expected = Vec::new();
                    for (k, w) in writes {
                        let before = state.get(&k);
                        match w {
                            Some(row) if before != Some(&row) => {
                                state.insert(k, row.clone());
                                expected.push(Change::Upsert { table: Pair::table(), row });
                            }
                            None if before.is_some() => {
                                state.remove(&k);
                                expected.push(Change::Delete { table: Pair::table(), key: k });
                            }
                            _ => {}
                        }
                    }
                    let Outcome::Done(changes) = stage.finish() else {
                        panic!("every read is answered");
                    };
                    prop_assert_eq!(&changes, &expected);
                    snapshot.apply(changes).unwrap();
                    prop_assert_eq!(snapshot.len(), state.len());
                    for (k, row) in &state {
                        prop_assert_eq!(snapshot.row("pairs", k).map(|r| &**r), Some(row.as_slice()));
                    }
                }
            }
        }
    }
}
