//! The `LeadSequence` aggregate: one lead's run through one campaign's play.
//!
//! It guards the rules that must hold per lead whatever the runtime does: no step starts once the
//! sequence stopped, at most one invite, messages only to 1st-degree connections, an unknown
//! outcome is reconciled before anything else starts, a reply stops the sequence in the same
//! command and a duplicate delivery changes nothing. [`schedule`] says what is due next.

mod aggregate;
mod commands;
mod error;
mod events;
pub mod schedule;

pub use aggregate::{Enrollment, LeadSequence, PendingState, PendingStep, Retry, SequenceStatus};
pub use commands::LeadSequenceCommand;
pub use error::LeadSequenceError;
pub use events::{LeadSequenceEvent, SkipReason, StopReason};
pub use schedule::{next_step, retry_backoff, NextStep, ACCEPTANCE_WINDOW};

#[cfg(test)]
mod tests;
