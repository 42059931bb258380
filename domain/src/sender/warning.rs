//! The warnings an account keeps in memory.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::WarningKind;

/// How many recent warnings the aggregate keeps: enough to show a history on the sender's health
/// page; the full history stays in the event log, and the state must not grow with the account's age.
pub const MAX_RECENT_WARNINGS: usize = 20;

/// A warning recorded on the account (by a `WarningReceived` event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// What was signalled.
    pub kind: WarningKind,
    /// The provider's words, if any.
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}
