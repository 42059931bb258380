//! The `SenderAccount` aggregate: a connected LinkedIn account, its limits, its status and pauses.
//!
//! The quota *use* is not kept here: it is counted on the leads' `StepStarted` events by the
//! sender's actor (see `quota`). This aggregate holds what decides whether the account may act at
//! all: connection, limits, working hours, warnings and pauses.

mod aggregate;
mod commands;
pub mod cooldown;
mod error;
mod events;
mod pause;
mod status;
mod warning;

#[cfg(test)]
mod tests;

pub use aggregate::{Connection, SenderAccount};
pub use commands::SenderAccountCommand;
pub use cooldown::{
    APPROACHING_LIMIT_COOLDOWN, FAILURE_STREAK_COOLDOWN, RATE_LIMIT_COOLDOWN,
    TEMPORARY_PROVIDER_LIMIT_COOLDOWN,
};
pub use error::SenderAccountError;
pub use events::{PauseReason, SenderAccountEvent, WarningKind};
pub use pause::Pause;
pub use status::{Readiness, SenderStatus};
pub use warning::{Warning, MAX_RECENT_WARNINGS};
