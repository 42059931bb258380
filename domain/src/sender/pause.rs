//! A pause in force and the "a pause never gets weaker" ordering between pauses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PauseReason;

/// A pause recorded on the account (by a `SendingPaused` event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// Why sending stopped.
    pub reason: PauseReason,
    /// When it ends by itself; `None` when it waits for the user.
    pub until: Option<DateTime<Utc>>,
    /// When it was recorded.
    pub since: DateTime<Utc>,
}

impl Pause {
    /// Whether the pause still holds at `now` for sending decisions: a timed pause whose end has
    /// passed no longer holds, even before its `SendingResumed` is recorded.
    pub fn holds_at(&self, now: DateTime<Utc>) -> bool {
        match self.until {
            Some(until) => until > now,
            None => true,
        }
    }

    /// Whether a new pause (`reason`, `until`) is stronger than this one and so replaces it.
    ///
    /// A pause with no end beats any timed one; between timed pauses the later end wins; between
    /// pauses with no end, the one that asks more of the user wins (reconnect > acknowledge a
    /// restriction > a plain user pause). Ties keep the pause in force: nothing to record.
    pub fn is_superseded_by(&self, reason: PauseReason, until: Option<DateTime<Utc>>) -> bool {
        match (self.until, until) {
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(current), Some(new)) => new > current,
            (None, None) => open_rank(reason) > open_rank(self.reason),
        }
    }
}

/// How much a pause with no end asks of the user; higher means stronger.
fn open_rank(reason: PauseReason) -> u8 {
    match reason {
        PauseReason::SessionExpired => 3,
        PauseReason::Restricted => 2,
        PauseReason::User
        | PauseReason::RateLimited
        | PauseReason::TemporaryProviderLimit
        | PauseReason::ApproachingLimit
        | PauseReason::FailureStreak => 1,
    }
}
