use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, OwnerId, ProviderAccountId, WorkspaceId};
use crate::values::{Limits, Tier, WorkingHours};

/// What LinkedIn (or our own watch on it) signalled about an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// 429 `too_many_requests` or `limit_exceeded`: LinkedIn throttles the account.
    RateLimited,
    /// `cannot_resend_yet` meaning a temporary provider-side limit on the account.
    TemporaryProviderLimit,
    /// `account_restricted`: LinkedIn restricted the account (typically for about a week).
    Restricted,
    /// `disconnected_account`, `checkpoint_error` or a CREDENTIALS status: the session expired.
    SessionExpired,
    /// The provider reports its quota nearly used up: pause before LinkedIn does.
    UsageNearCap,
    /// Several failures in a row: something is wrong, pause before it gets worse.
    FailureStreak,
}

/// Why sending was paused; decides whether the pause ends by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// LinkedIn throttled the account; resumes after the cooldown.
    RateLimited,
    /// A temporary provider limit; resumes after the cooldown.
    TemporaryProviderLimit,
    /// Provider usage close to the cap; resumes after the cooldown.
    ApproachingLimit,
    /// A run of failures; resumes after the cooldown.
    FailureStreak,
    /// LinkedIn restricted the account; waits for the user to resume.
    Restricted,
    /// The session expired; waits for the user to reconnect.
    SessionExpired,
    /// Paused by the user; waits for the user to resume.
    User,
}

/// Events of the `SenderAccount` aggregate (DESIGN §4). Stored with an internal `type` tag so a
/// payload reads as the flat object the event contract documents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SenderAccountEvent {
    /// The authorisation flow completed: the account is a sender now.
    AccountConnected {
        /// Workspace that owns the sender.
        workspace_id: WorkspaceId,
        /// Our id of the sender.
        account_id: AccountId,
        /// The provider's id of the LinkedIn account (never a credential).
        provider_account_id: ProviderAccountId,
        /// The user who owns the sender.
        owner: OwnerId,
        /// LinkedIn subscription.
        tier: Tier,
        /// Limits in force from now on.
        limits: Limits,
        /// IANA time zone of the sender's working hours.
        timezone: Tz,
        /// Local hours in which the sender acts.
        working_hours: WorkingHours,
        /// Whether the account warms up (new account: limits ramp up from `at`).
        warm_up: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// The user changed the limits.
    LimitsChanged {
        /// The new limits.
        limits: Limits,
        /// When.
        at: DateTime<Utc>,
    },
    /// LinkedIn or our watch signalled a problem.
    WarningReceived {
        /// What kind of problem.
        kind: WarningKind,
        /// The provider's words, if any (never a credential).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Sending stopped; `until` is set when the pause ends by itself.
    SendingPaused {
        /// Why.
        reason: PauseReason,
        /// When it ends by itself, if it does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Sending may go on.
    SendingResumed {
        /// When.
        at: DateTime<Utc>,
    },
    /// The user reconnected an account whose session had expired.
    AccountReconnected {
        /// When.
        at: DateTime<Utc>,
    },
    /// The account was disconnected from the workspace; it sends nothing any more.
    AccountDisconnected {
        /// When.
        at: DateTime<Utc>,
    },
}

impl SenderAccountEvent {
    /// When the event happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            SenderAccountEvent::AccountConnected { at, .. }
            | SenderAccountEvent::LimitsChanged { at, .. }
            | SenderAccountEvent::WarningReceived { at, .. }
            | SenderAccountEvent::SendingPaused { at, .. }
            | SenderAccountEvent::SendingResumed { at }
            | SenderAccountEvent::AccountReconnected { at }
            | SenderAccountEvent::AccountDisconnected { at } => *at,
        }
    }
}

impl DomainEvent for SenderAccountEvent {
    fn event_type(&self) -> String {
        match self {
            SenderAccountEvent::AccountConnected { .. } => "AccountConnected",
            SenderAccountEvent::LimitsChanged { .. } => "LimitsChanged",
            SenderAccountEvent::WarningReceived { .. } => "WarningReceived",
            SenderAccountEvent::SendingPaused { .. } => "SendingPaused",
            SenderAccountEvent::SendingResumed { .. } => "SendingResumed",
            SenderAccountEvent::AccountReconnected { .. } => "AccountReconnected",
            SenderAccountEvent::AccountDisconnected { .. } => "AccountDisconnected",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_string()
    }
}
