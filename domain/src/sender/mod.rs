//! The `SenderAccount` aggregate: a connected LinkedIn account, its limits, its status and pauses.
//!
//! The quota *use* is not kept here: it is counted on the leads' `StepStarted` events by the
//! sender's actor (see `quota`). This aggregate holds what decides whether the account may act at
//! all: connection, limits, working hours, warnings and pauses.

mod commands;
mod error;
mod events;

pub use commands::SenderAccountCommand;
pub use error::SenderAccountError;
pub use events::{PauseReason, SenderAccountEvent, WarningKind};
