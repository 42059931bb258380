use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{PauseReason, WarningKind};
use crate::ids::{AccountId, OwnerId, ProviderAccountId, WorkspaceId};
use crate::values::{Limits, Tier, WorkingHours};

/// Commands to the `SenderAccount` aggregate; every one carries its `at` from the engine's clock.
#[derive(Clone, Debug, PartialEq)]
pub enum SenderAccountCommand {
    /// Record a completed authorisation flow.
    Connect {
        /// Workspace that owns the sender.
        workspace_id: WorkspaceId,
        /// Our id of the sender.
        account_id: AccountId,
        /// The provider's id of the account.
        provider_account_id: ProviderAccountId,
        /// Owner of the sender.
        owner: OwnerId,
        /// LinkedIn subscription.
        tier: Tier,
        /// Limits; validated against the ceilings.
        limits: Limits,
        /// IANA time zone.
        timezone: Tz,
        /// Local working hours.
        working_hours: WorkingHours,
        /// Whether the limits ramp up (new account).
        warm_up: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Change the limits.
    ChangeLimits {
        /// The new limits; validated against the ceilings.
        limits: Limits,
        /// When.
        at: DateTime<Utc>,
    },
    /// Record a warning; pauses the account as the warning's kind requires.
    RecordWarning {
        /// What was signalled.
        kind: WarningKind,
        /// Provider's words, if any.
        detail: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Pause sending (by the user, or by the engine with an explicit reason and end).
    Pause {
        /// Why.
        reason: PauseReason,
        /// When it ends by itself, if it does.
        until: Option<DateTime<Utc>>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The user resumes a paused account (not one whose session expired: that needs a reconnect).
    Resume {
        /// When.
        at: DateTime<Utc>,
    },
    /// The engine resumes an account whose cooldown is over; refused while it is not.
    ResumeAfterCooldown {
        /// When.
        at: DateTime<Utc>,
    },
    /// The user completed a reconnect flow for this account.
    Reconnect {
        /// When.
        at: DateTime<Utc>,
    },
    /// Disconnect the account from the workspace.
    Disconnect {
        /// When.
        at: DateTime<Utc>,
    },
}
