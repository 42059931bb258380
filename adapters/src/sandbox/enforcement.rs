//! LinkedIn's own enforcement on one sender account: hard caps per day (of the account's time
//! zone) and per rolling 7 days, refusals, and the restriction that follows pushing past them.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use plera_domain::ids::{AccountId, ProviderAccountId};
use plera_domain::ports::{GatewayError, GatewayErrorKind};
use plera_domain::values::Tier;

use super::config::{RestrictionPolicy, TierCaps};
use super::flags::Flags;
use super::session::{Blackout, Session};

/// How long sends are remembered: enough for the rolling week and the longest local day.
const MEMORY: Duration = Duration::days(8);

/// How far back a send of the current local day can lie: a local day is at most 26 hours long.
const LOCAL_DAY_REACH: Duration = Duration::hours(48);

/// One sender account as LinkedIn sees it.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    /// The provider's id of the account; a send naming another one is refused.
    pub provider: ProviderAccountId,
    /// Sets the caps and the note length.
    pub tier: Tier,
    /// Whose days the daily caps count.
    pub tz: Tz,
    /// The session, which may expire.
    pub session: Session,
    /// Restrictions out of the blue decided so far.
    pub flags: Flags,
    /// Invites and messages sent, in time order (so a day or a week is a slice, not a scan).
    invites: Vec<DateTime<Utc>>,
    messages: Vec<DateTime<Utc>>,
    refusals: Vec<DateTime<Utc>>,
    restriction: Blackout,
}

/// What became of a send refused over a cap.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Refusal {
    /// The answer to give.
    pub error: GatewayError,
    /// The restriction this push caused, as `(from, until)`.
    pub restricted: Blackout,
}

impl Account {
    /// A fresh account connected at `now`.
    pub fn new(provider: ProviderAccountId, tier: Tier, tz: Tz, now: DateTime<Utc>) -> Self {
        Self {
            provider,
            tier,
            tz,
            session: Session::new(now),
            flags: Flags::new(now),
            invites: Vec::new(),
            messages: Vec::new(),
            refusals: Vec::new(),
            restriction: None,
        }
    }

    /// The latest restriction, as `(from, until)`.
    pub fn restriction(&self) -> Blackout {
        self.restriction
    }

    /// Restricts the account from `from` to `until` unless it is restricted at `from` already;
    /// whether it did.
    pub fn restrict(&mut self, from: DateTime<Utc>, until: DateTime<Utc>) -> bool {
        if self
            .restriction
            .is_some_and(|(start, end)| start <= from && from < end)
        {
            return false;
        }
        self.refusals.clear();
        self.restriction = Some((from, until));
        true
    }

    /// Refuses any send from a restricted account or an expired session.
    pub fn check_standing(&self, id: &AccountId, now: DateTime<Utc>) -> Result<(), GatewayError> {
        if let Some((from, until)) = self.restriction {
            if from <= now && now < until {
                return Err(GatewayError::new(
                    GatewayErrorKind::Restricted,
                    format!(
                        "account_restricted: {id} is restricted until {}",
                        until.to_rfc3339()
                    ),
                ));
            }
        }
        if self.session.is_expired(now) {
            return Err(GatewayError::new(
                GatewayErrorKind::SessionExpired,
                format!("disconnected_account: the session of {id} expired; reconnect the account"),
            ));
        }
        Ok(())
    }

    /// Refuses an invite over the daily or the rolling weekly cap.
    pub fn check_invite_caps(
        &self,
        caps: TierCaps,
        now: DateTime<Utc>,
    ) -> Result<(), GatewayError> {
        if self.today(&self.invites, now) >= caps.daily_invites {
            return Err(limit(format!(
                "limit_exceeded: daily invitation limit of {} reached",
                caps.daily_invites
            )));
        }
        if self.this_week(now) >= caps.weekly_invites {
            return Err(limit(format!(
                "limit_exceeded: weekly invitation limit of {} reached",
                caps.weekly_invites
            )));
        }
        Ok(())
    }

    /// Refuses a message over the daily cap.
    pub fn check_message_caps(
        &self,
        caps: TierCaps,
        now: DateTime<Utc>,
    ) -> Result<(), GatewayError> {
        if self.today(&self.messages, now) >= caps.daily_messages {
            return Err(limit(format!(
                "limit_exceeded: daily message limit of {} reached",
                caps.daily_messages
            )));
        }
        Ok(())
    }

    /// Counts a refusal; past the tolerated number within the window, this push restricts the
    /// account instead (and the refusals start over once it is lifted).
    pub fn refuse(
        &mut self,
        id: &AccountId,
        policy: RestrictionPolicy,
        error: GatewayError,
        now: DateTime<Utc>,
    ) -> Refusal {
        self.refusals.retain(|at| *at > now - policy.window);
        let tolerated = usize::try_from(policy.tolerated_refusals).unwrap_or(usize::MAX);
        if self.refusals.len() < tolerated {
            self.refusals.push(now);
            return Refusal {
                error,
                restricted: None,
            };
        }
        self.refusals.clear();
        let until = now + policy.duration;
        self.restriction = Some((now, until));
        Refusal {
            error: GatewayError::new(
                GatewayErrorKind::Restricted,
                format!(
                    "account_restricted: {id} kept pushing past its limits and is restricted until {}",
                    until.to_rfc3339()
                ),
            ),
            restricted: self.restriction,
        }
    }

    /// Counts an invite; returns the share of the weekly cap now used.
    pub fn record_invite(&mut self, caps: TierCaps, now: DateTime<Utc>) -> f64 {
        remember(&mut self.invites, now);
        if caps.weekly_invites == 0 {
            return 1.0;
        }
        (f64::from(self.this_week(now)) / f64::from(caps.weekly_invites)).min(1.0)
    }

    /// Counts a message.
    pub fn record_message(&mut self, now: DateTime<Utc>) {
        remember(&mut self.messages, now);
    }

    /// Sends on `now`'s local day. Only the last [`LOCAL_DAY_REACH`] can be on it: the account's
    /// sends are checked one by one (a time-zone conversion each) in that slice alone, not in
    /// all 8 days remembered.
    fn today(&self, sends: &[DateTime<Utc>], now: DateTime<Utc>) -> u32 {
        let day = now.with_timezone(&self.tz).date_naive();
        let recent = sends.partition_point(|at| *at <= now - LOCAL_DAY_REACH);
        count(
            sends[recent..]
                .iter()
                .filter(|at| at.with_timezone(&self.tz).date_naive() == day),
        )
    }

    /// Invites in the 7 days up to `now`.
    fn this_week(&self, now: DateTime<Utc>) -> u32 {
        let since = self
            .invites
            .partition_point(|at| *at <= now - Duration::days(7));
        let until = self.invites.partition_point(|at| *at <= now);
        count(self.invites[since..until].iter())
    }
}

/// Adds a send at `now` to `sends` in time order, forgetting those older than [`MEMORY`].
fn remember(sends: &mut Vec<DateTime<Utc>>, now: DateTime<Utc>) {
    let forgotten = sends.partition_point(|at| *at <= now - MEMORY);
    sends.drain(..forgotten);
    let at = sends.partition_point(|at| *at <= now);
    sends.insert(at, now);
}

fn count<I: Iterator>(items: I) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

fn limit(detail: String) -> GatewayError {
    GatewayError::new(GatewayErrorKind::LimitExceeded, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The counts over the kept slices equal a plain scan of every send remembered, with sends
    /// recorded out of order, around New York's autumn clock change.
    #[test]
    fn day_and_week_counts_equal_a_scan_of_every_send() {
        let tz = chrono_tz::America::New_York;
        let start = Utc.with_ymd_and_hms(2026, 10, 25, 3, 0, 0).unwrap();
        let mut account = Account::new(ProviderAccountId::new("p"), Tier::Premium, tz, start);
        let caps = TierCaps {
            daily_invites: 1_000,
            weekly_invites: 1_000,
            daily_messages: 1_000,
        };
        let mut all: Vec<DateTime<Utc>> = Vec::new();
        for i in 0..600i64 {
            // Mostly forward in steps of 37 minutes, every seventh send 5 hours back.
            let at = start + Duration::minutes(37 * i) - Duration::hours(5 * i64::from(i % 7 == 0));
            account.record_invite(caps, at);
            account.record_message(at);
            all.retain(|t| *t > at - MEMORY);
            all.push(at);
            let day = at.with_timezone(&tz).date_naive();
            let today = all
                .iter()
                .filter(|t| t.with_timezone(&tz).date_naive() == day)
                .count();
            let week = all
                .iter()
                .filter(|t| **t > at - Duration::days(7) && **t <= at)
                .count();
            assert_eq!(
                account.today(&account.invites, at) as usize,
                today,
                "send {i}"
            );
            assert_eq!(
                account.today(&account.messages, at) as usize,
                today,
                "send {i}"
            );
            assert_eq!(account.this_week(at) as usize, week, "send {i}");
        }
    }
}
