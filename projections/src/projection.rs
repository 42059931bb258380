//! The contract between a view and the runner that keeps it current.

use thiserror::Error;

use crate::envelope::Decoded;
use crate::rows::Table;
use crate::stage::{Outcome, Snapshot};

/// Why a view could not apply a batch. Nothing of the batch is written then.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProjectionError {
    /// A stored payload does not decode as its aggregate's event.
    #[error("event at position {position} ({event_type}) does not decode: {reason}")]
    Decode {
        /// Its position.
        position: u64,
        /// Its stored name.
        event_type: String,
        /// What went wrong.
        reason: String,
    },
    /// A stored row does not read back as its table's record.
    #[error("view table {table}: {reason}")]
    Row {
        /// The table.
        table: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The fold kept asking for rows: a bug, reported instead of looping.
    #[error("view {view} did not settle after {rounds} rounds of reads")]
    Unsettled {
        /// The view.
        view: &'static str,
        /// Rounds tried.
        rounds: usize,
    },
}

/// How many read rounds a batch may take before the runner gives up (a fold needs two or three).
pub const MAX_ROUNDS: usize = 8;

/// A read model: a pure, deterministic fold of events into rows.
///
/// `apply` sees a batch of events in log order and the rows loaded so far, and either asks for
/// more rows or returns the batch's changes. The same events give the same rows however they are
/// split into batches: that is what lets `rebuild` replace a view kept current batch by batch.
pub trait Projection: Send + Sync {
    /// The view's name: its checkpoint's key.
    fn name(&self) -> &'static str;

    /// Bumped whenever the fold or its tables change meaning: a runner that finds an older
    /// version stored rebuilds the view from position 0.
    fn version(&self) -> u32;

    /// The tables the view writes.
    fn tables(&self) -> Vec<&'static Table>;

    /// Folds a batch; see the trait's documentation.
    fn apply(&self, events: &[Decoded], rows: &Snapshot) -> Result<Outcome, ProjectionError>;
}
