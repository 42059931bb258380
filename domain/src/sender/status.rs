//! What the account's events say about it, in the terms the runtime and the views need.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PauseReason;

/// The account's recorded status. A timed pause shows as `Paused` until its `SendingResumed` is
/// recorded, even after its end: the status tells what the log says, not what the clock says.
///
/// Serialised with a `status` tag (`{"status":"paused","reason":"rate_limited","until":"…"}`) so a
/// view row stays a flat object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SenderStatus {
    /// No `AccountConnected` yet.
    NotConnected,
    /// Connected and sending.
    Connected,
    /// Paused by the user or by a warning that ends by itself.
    Paused {
        /// Why.
        reason: PauseReason,
        /// When it ends by itself, if it does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
    },
    /// LinkedIn restricted the account; the user must resume it.
    Restricted,
    /// The session expired; the user must reconnect the account.
    NeedsReconnect,
    /// Disconnected from the workspace for good.
    Disconnected,
}

/// Which LinkedIn actions the account may take at all, before quota use and working hours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Connection invites.
    pub invite: bool,
    /// Direct messages.
    pub message: bool,
}
