//! Sender health & quota: per sender its status (connected, paused with reason and until,
//! restricted, needs reconnect, disconnected), owner, tier, limits, readiness, today's use against
//! each daily limit and the rolling week's invites; and every warning it received.
//!
//! Views cannot read a clock, so "today" and "the last 7 days" are relative to the latest event
//! time the view has seen (`sender_clock.as_of`): on a live engine that is a moment ago, on a
//! replayed log the end of the log. Use is counted the way the quota invariant counts it: on the
//! leads' `StepStarted` of invites and messages naming the sender, per the sender's local day and
//! per rolling 7 × 24 hours. Because every sender's use moves with `as_of`, each batch reads all
//! sender rows (one per account: few) and rewrites only those whose numbers changed.

mod fold;
mod rows;
#[cfg(test)]
mod tests;

pub use rows::{ClockRow, SenderRow, WarningRow};

use crate::envelope::Decoded;
use crate::projection::{Projection, ProjectionError};
use crate::rows::{Record, Table};
use crate::stage::{Outcome, Snapshot};

/// The view's name (its checkpoint key).
pub const SENDERS: &str = "senders";

/// The sender health & quota view.
#[derive(Clone, Copy, Debug, Default)]
pub struct SenderView;

impl Projection for SenderView {
    fn name(&self) -> &'static str {
        SENDERS
    }

    fn version(&self) -> u32 {
        1
    }

    fn tables(&self) -> Vec<&'static Table> {
        vec![SenderRow::table(), WarningRow::table(), ClockRow::table()]
    }

    fn apply(&self, events: &[Decoded], rows: &Snapshot) -> Result<Outcome, ProjectionError> {
        fold::apply(events, rows)
    }
}
