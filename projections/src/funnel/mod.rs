//! Campaign funnels: per campaign and per step, leads enrolled, invites sent and accepted,
//! messages, emails, replies (by channel), stops on reply and completions, with acceptance and
//! reply rates; and per campaign and UTC day the same activity, for plotting.
//!
//! Counts are of leads, not of events: each fact is recorded once on the lead's
//! `funnel_sequences` row (retries, duplicate deliveries and the `SequenceStopped` every reply
//! brings cannot count twice). A reply is credited to the step whose message went out last before
//! it. Rates are computed from the stored counts when a row is written.

mod fold;
mod rows;
#[cfg(test)]
mod tests;

pub use rows::{CampaignFunnel, DayFunnel, FunnelSequence, StepFunnel};

use crate::envelope::Decoded;
use crate::projection::{Projection, ProjectionError};
use crate::rows::{Record, Table};
use crate::stage::{Outcome, Snapshot, Stage};

/// The view's name (its checkpoint key).
pub const FUNNEL: &str = "funnel";

/// The campaign funnel view.
#[derive(Clone, Copy, Debug, Default)]
pub struct FunnelView;

impl Projection for FunnelView {
    fn name(&self) -> &'static str {
        FUNNEL
    }

    fn version(&self) -> u32 {
        1
    }

    fn tables(&self) -> Vec<&'static Table> {
        vec![
            FunnelSequence::table(),
            CampaignFunnel::table(),
            StepFunnel::table(),
            DayFunnel::table(),
        ]
    }

    fn apply(&self, events: &[Decoded], rows: &Snapshot) -> Result<Outcome, ProjectionError> {
        let mut stage = Stage::new(rows);
        for event in events {
            fold::apply(&mut stage, event)?;
        }
        Ok(stage.finish())
    }
}
