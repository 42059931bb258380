//! How long each kind of warning keeps the account quiet, and why.

use chrono::{DateTime, TimeDelta, Utc};

use super::{PauseReason, WarningKind};

/// LinkedIn throttled the account: one vendor's practice is a 5-hour pause, then resume by itself
/// (`linkedin-facts.md`); shorter pauses tend to hit the throttle again.
pub const RATE_LIMIT_COOLDOWN: TimeDelta = TimeDelta::hours(5);

/// A temporary provider-side limit (`cannot_resend_yet` in its "temporary limit" sense): such limits
/// are daily on the provider's side, so a full day is the shortest wait that is sure to clear it.
pub const TEMPORARY_PROVIDER_LIMIT_COOLDOWN: TimeDelta = TimeDelta::hours(24);

/// The provider's usage is close to its cap: half a day lets the provider's window roll on before
/// we spend what is left, instead of running into a real limit.
pub const APPROACHING_LIMIT_COOLDOWN: TimeDelta = TimeDelta::hours(12);

/// A run of failures: an hour is long enough for a transient outage to pass, short enough not to
/// lose a working day if it was one.
pub const FAILURE_STREAK_COOLDOWN: TimeDelta = TimeDelta::hours(1);

/// The pause a warning of `kind` received at `at` calls for: its reason and, when it ends by
/// itself, its end. Restrictions and expired sessions have no end: they wait for the user.
pub fn pause_for(kind: WarningKind, at: DateTime<Utc>) -> (PauseReason, Option<DateTime<Utc>>) {
    match kind {
        WarningKind::RateLimited => (PauseReason::RateLimited, Some(at + RATE_LIMIT_COOLDOWN)),
        WarningKind::TemporaryProviderLimit => (
            PauseReason::TemporaryProviderLimit,
            Some(at + TEMPORARY_PROVIDER_LIMIT_COOLDOWN),
        ),
        WarningKind::UsageNearCap => (
            PauseReason::ApproachingLimit,
            Some(at + APPROACHING_LIMIT_COOLDOWN),
        ),
        WarningKind::FailureStreak => (
            PauseReason::FailureStreak,
            Some(at + FAILURE_STREAK_COOLDOWN),
        ),
        WarningKind::Restricted => (PauseReason::Restricted, None),
        WarningKind::SessionExpired => (PauseReason::SessionExpired, None),
    }
}
