//! Views kept in memory: the reference runner the folds are tested with, and a store for
//! embedders that run without a database.

use std::collections::BTreeMap;

use crate::envelope::Decoded;
use crate::projection::{Projection, ProjectionError, MAX_ROUNDS};
use crate::rows::{Change, Key, Record, Value};
use crate::stage::{Outcome, Read, Snapshot};

/// What applying one batch took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Rows written or deleted.
    pub rows: usize,
    /// Runs of the fold (1 + rounds of reads).
    pub rounds: usize,
}

/// View tables in memory, keyed by table name then primary key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryTables {
    tables: BTreeMap<&'static str, BTreeMap<Key, Vec<Value>>>,
}

impl MemoryTables {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one batch to `view`'s tables, loading rows the way the SQL runner does.
    pub fn apply(
        &mut self,
        view: &dyn Projection,
        events: &[Decoded],
    ) -> Result<Applied, ProjectionError> {
        let mut snapshot = Snapshot::new();
        for round in 1..=MAX_ROUNDS {
            match view.apply(events, &snapshot)? {
                Outcome::Done(changes) => {
                    let rows = changes.len();
                    self.write(changes);
                    return Ok(Applied {
                        rows,
                        rounds: round,
                    });
                }
                Outcome::Need(reads) => {
                    for read in reads {
                        let rows = self.load(&read);
                        snapshot.answer(&read, rows)?;
                    }
                }
            }
        }
        Err(ProjectionError::Unsettled {
            view: view.name(),
            rounds: MAX_ROUNDS,
        })
    }

    /// Every row of `table` in key order.
    pub fn rows(&self, table: &str) -> Vec<Vec<Value>> {
        self.tables
            .get(table)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every row of `R`'s table, typed, in key order.
    pub fn records<R: Record>(&self) -> Result<Vec<R>, ProjectionError> {
        self.rows(R::table().name)
            .iter()
            .map(|row| R::from_values(row))
            .collect()
    }

    /// Empties `table` (a rebuild).
    pub fn clear(&mut self, table: &str) {
        self.tables.remove(table);
    }

    fn load(&self, read: &Read) -> Vec<Vec<Value>> {
        let Some(table) = self.tables.get(read.table.name) else {
            return Vec::new();
        };
        table
            .range(read.prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&read.prefix))
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn write(&mut self, changes: Vec<Change>) {
        for change in changes {
            match change {
                Change::Upsert { table, row } => {
                    // Rows built by a record always have their key.
                    if let Ok(key) = table.key_of(&row) {
                        self.tables.entry(table.name).or_default().insert(key, row);
                    }
                }
                Change::Delete { table, key } => {
                    if let Some(rows) = self.tables.get_mut(table.name) {
                        rows.remove(&key);
                    }
                }
            }
        }
    }
}
