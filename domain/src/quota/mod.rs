//! The quota policy: pure functions of limits, tier, account age, recent actions and local time.
//!
//! A sender's actor holds one [`SenderQuota`] per LinkedIn account, shared by every campaign that
//! uses the account (so several campaigns cannot overrun it together). It asks [`SenderQuota::check`]
//! before an action, [`SenderQuota::next_allowed`] for the next slot, and [`SenderQuota::record`]s
//! every action that started (DESIGN §5.1: unknown outcomes count too).
//!
//! Pauses are not decided here: the `SenderAccount` aggregate holds them.

pub mod pacing;
pub mod usage;
pub mod warm_up;
pub mod window;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use thiserror::Error;

use crate::values::{Action, Limits, Tier, WorkingHours};
pub use usage::ActionLog;
pub use window::{WorkingDays, WorkingDaysError};

/// Engine-wide pacing settings; the per-account settings live in [`SenderProfile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaPolicy {
    /// Floor between two LinkedIn actions of one sender.
    pub min_gap: TimeDelta,
    /// Exclusive bound of the seeded jitter added to `min_gap`.
    pub max_jitter: TimeDelta,
    /// Days on which senders act (their working hours apply on those days only).
    pub working_days: WorkingDays,
}

impl Default for QuotaPolicy {
    /// 90 s + up to 4 min of jitter, Monday to Friday.
    fn default() -> Self {
        Self {
            min_gap: pacing::MIN_GAP,
            max_jitter: pacing::MAX_JITTER,
            working_days: WorkingDays::default(),
        }
    }
}

/// What the sender's `AccountConnected` (and later `LimitsChanged`) says about its quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderProfile {
    /// Configured limits (before the warm-up ramp).
    pub limits: Limits,
    /// LinkedIn subscription.
    pub tier: Tier,
    /// Whether the account ramps its limits up from `connected_at`.
    pub warm_up: bool,
    /// When the account was connected: day 0 of the warm-up.
    pub connected_at: DateTime<Utc>,
    /// IANA zone of the working hours and of the "local day" of the daily limits.
    pub tz: Tz,
    /// Local hours in which the sender acts.
    pub hours: WorkingHours,
}

/// Why the sender may not take an action now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The limit for this action is 0: it never may.
    #[error("the {action} limit is 0")]
    ZeroLimit {
        /// The refused action.
        action: Action,
    },
    /// Outside the sender's working hours or not a working day, on its local clock.
    #[error("outside the sender's working hours")]
    OutsideWorkingHours,
    /// The minimum jittered gap since the last LinkedIn action has not passed.
    #[error("too soon after the last action; not before {until}")]
    TooSoon {
        /// The earliest instant the gap allows.
        until: DateTime<Utc>,
    },
    /// Today's (local day's) cap for this action is used up.
    #[error("daily {action} limit of {cap} reached")]
    DailyLimit {
        /// The refused action.
        action: Action,
        /// The cap in force today (warm-up applied).
        cap: u32,
    },
    /// The invites of the last 7 × 24 hours already reach the weekly cap.
    #[error("weekly invite limit of {cap} reached (rolling 7 days)")]
    WeeklyLimit {
        /// The cap in force now (warm-up applied).
        cap: u32,
    },
}

/// What a sender used, for dashboards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Usage {
    /// Invites on the sender's current local day.
    pub invites: u32,
    /// Messages on the sender's current local day.
    pub messages: u32,
    /// Invites in the last 7 × 24 hours.
    pub weekly_invites: u32,
}

/// Bound on the slot search; each round advances time, and a week of rounds is far below this.
const MAX_SEARCH_ROUNDS: usize = 10_000;

/// One LinkedIn account's quota state: its profile, the pacing seed and its recent actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderQuota {
    profile: SenderProfile,
    policy: QuotaPolicy,
    seed: u64,
    key: String,
    log: ActionLog,
    last_action_at: Option<DateTime<Utc>>,
    actions: u64,
}

impl SenderQuota {
    /// A sender with no actions yet. `seed` and `key` (the account id) drive the pacing jitter;
    /// they are held here so that `check` and `next_allowed` always agree on the gap.
    pub fn new(
        profile: SenderProfile,
        policy: QuotaPolicy,
        seed: u64,
        key: impl Into<String>,
    ) -> Self {
        Self {
            profile,
            policy,
            seed,
            key: key.into(),
            log: ActionLog::new(),
            last_action_at: None,
            actions: 0,
        }
    }

    /// The account's quota settings.
    pub fn profile(&self) -> &SenderProfile {
        &self.profile
    }

    /// The engine-wide pacing settings in use.
    pub fn policy(&self) -> &QuotaPolicy {
        &self.policy
    }

    /// The recent actions.
    pub fn log(&self) -> &ActionLog {
        &self.log
    }

    /// The latest LinkedIn action recorded, if any.
    pub fn last_action_at(&self) -> Option<DateTime<Utc>> {
        self.last_action_at
    }

    /// How many LinkedIn actions were recorded in all: the `n` that keys the next gap's jitter,
    /// so a rebuilt quota draws the same gaps only if it replays the whole history.
    pub fn actions_recorded(&self) -> u64 {
        self.actions
    }

    /// Applies `LimitsChanged`; actions already taken keep counting against the new limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.profile.limits = limits;
    }

    /// The limits in force at `at`, warm-up applied.
    pub fn effective_limits(&self, at: DateTime<Utc>) -> Limits {
        let p = &self.profile;
        warm_up::effective_limits(p.limits, p.warm_up, p.connected_at, at, p.tz)
    }

    /// The earliest instant the pacing gap allows the next LinkedIn action (none before the first).
    pub fn gap_until(&self) -> Option<DateTime<Utc>> {
        let last = self.last_action_at?;
        let p = &self.policy;
        let gap = pacing::gap(p.min_gap, p.max_jitter, self.seed, &self.key, self.actions);
        Some(
            last.checked_add_signed(gap)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    /// Whether `action` may start at `at`. Email is not limited here and always passes.
    ///
    /// If this passes and the action is [`record`](Self::record)ed at `at`, every limit still
    /// holds as an auditor counts it on the log (per local day, per rolling 7 × 24 hours).
    pub fn check(&self, action: Action, at: DateTime<Utc>) -> Result<(), Refusal> {
        if !action.is_linkedin() {
            return Ok(());
        }
        if self.is_zero(action) {
            return Err(Refusal::ZeroLimit { action });
        }
        let p = &self.profile;
        if !window::is_within(&p.hours, &self.policy.working_days, p.tz, at) {
            return Err(Refusal::OutsideWorkingHours);
        }
        if let Some(until) = self.gap_until() {
            // An instant before the last action is refused too: the log is only ever appended to.
            if at < until {
                return Err(Refusal::TooSoon { until });
            }
        }
        let limits = self.effective_limits(at);
        let daily_cap = match action {
            Action::Invite => limits.daily_invites,
            _ => limits.daily_messages,
        };
        if self.log.count_on(action, window::local_day(p.tz, at), p.tz) >= daily_cap {
            return Err(Refusal::DailyLimit {
                action,
                cap: daily_cap,
            });
        }
        if action == Action::Invite && self.log.invites_in_rolling_week(at) >= limits.weekly_invites
        {
            return Err(Refusal::WeeklyLimit {
                cap: limits.weekly_invites,
            });
        }
        Ok(())
    }

    /// The earliest instant `>= at` at which [`check`](Self::check) passes for `action`, or `None`
    /// when it never will (a limit of 0).
    ///
    /// Each round moves to the next instant that could pass: the window's next opening, the next
    /// local day when today's cap is used up, the moment the oldest invite leaves the rolling week
    /// (or the next local day, when a warming cap grows first), after the pacing gap.
    pub fn next_allowed(&self, action: Action, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !action.is_linkedin() {
            return Some(at);
        }
        if self.is_zero(action) {
            return None;
        }
        let p = &self.profile;
        let mut t = self.gap_until().map_or(at, |g| g.max(at));
        for _ in 0..MAX_SEARCH_ROUNDS {
            t = window::next_open(&p.hours, &self.policy.working_days, p.tz, t)?;
            match self.check(action, t) {
                Ok(()) => return Some(t),
                Err(Refusal::DailyLimit { .. }) => t = window::day_end(p.tz, t)?,
                Err(Refusal::WeeklyLimit { cap }) => {
                    let week = self.log.rolling_week(t);
                    // The invite whose departure leaves `cap − 1` in the window (cap > 0 here).
                    let frees = week
                        .len()
                        .checked_sub(usize::try_from(cap).ok()?)
                        .and_then(|i| week.get(i))
                        .and_then(|oldest| oldest.checked_add_signed(usage::ROLLING_WEEK));
                    let tomorrow = window::day_end(p.tz, t);
                    t = match (frees, tomorrow) {
                        (Some(f), Some(d)) => f.min(d),
                        (Some(x), None) | (None, Some(x)) => x,
                        (None, None) => return None,
                    };
                }
                // The window and the gap were satisfied above, so this is a bug: loud in tests,
                // and in production a one-second step keeps the search moving instead of looping.
                Err(other) => {
                    debug_assert!(false, "{other} right after the window and gap were met");
                    t = t.checked_add_signed(TimeDelta::seconds(1))?;
                }
            }
        }
        None
    }

    /// Records a LinkedIn action that started at `at` (email is ignored).
    pub fn record(&mut self, action: Action, at: DateTime<Utc>) {
        if !action.is_linkedin() {
            return;
        }
        self.log.record(action, at);
        self.last_action_at = Some(self.last_action_at.map_or(at, |l| l.max(at)));
        self.actions += 1;
    }

    /// Gives back a slot recorded at `at` whose step never started: the quota counts only
    /// actions that happened.
    pub fn unrecord(&mut self, action: Action, at: DateTime<Utc>) {
        self.log.remove(action, at);
    }

    /// Today's use (the sender's local day of `at`) and the rolling week's.
    pub fn usage_today(&self, at: DateTime<Utc>) -> Usage {
        let tz = self.profile.tz;
        let day = window::local_day(tz, at);
        Usage {
            invites: self.log.invites_on(day, tz),
            messages: self.log.messages_on(day, tz),
            weekly_invites: self.log.invites_in_rolling_week(at),
        }
    }

    /// Whether a configured limit forbids the action altogether (the ramp never turns a positive
    /// cap into 0).
    fn is_zero(&self, action: Action) -> bool {
        let l = &self.profile.limits;
        match action {
            Action::Invite => l.daily_invites == 0 || l.weekly_invites == 0,
            Action::Message => l.daily_messages == 0,
            Action::Email => false,
        }
    }
}
