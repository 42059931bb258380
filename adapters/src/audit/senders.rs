//! The senders as the log describes them, folded in log order: tier, time zone and working hours
//! from `AccountConnected`, limits from it and every `LimitsChanged`, the pause in force from
//! `SendingPaused`/`SendingResumed`, and the disconnection. The audit keeps its own fold (rather
//! than the aggregate's) so that it checks the log against the contract, not the code against
//! itself.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use plera_domain::sender::{PauseReason, SenderAccountEvent};
use plera_domain::values::{Limits, Tier, WorkingHours};
use std::collections::HashMap;

/// A pause as recorded: in force until `SendingResumed`, or by itself until `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedPause {
    /// Why.
    pub reason: PauseReason,
    /// When it ends by itself.
    pub until: Option<DateTime<Utc>>,
    /// When it began.
    pub since: DateTime<Utc>,
}

impl RecordedPause {
    /// Whether it holds at `at` (a timed pause ends at `until`, recorded or not).
    pub fn holds_at(&self, at: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| at < until)
    }
}

/// One sender as the log has described it so far.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderFacts {
    /// Subscription (sets the note length).
    pub tier: Tier,
    /// Time zone of the working hours and of the local days.
    pub timezone: Tz,
    /// Local working hours.
    pub working_hours: WorkingHours,
    /// The limits in force now.
    pub limits: Limits,
    /// Every limit that was in force, from when: for facts checked after the fold (the ledger).
    pub limits_history: Vec<(DateTime<Utc>, Limits)>,
    /// The pause in force, if any.
    pub pause: Option<RecordedPause>,
    /// When the sender was disconnected.
    pub disconnected_at: Option<DateTime<Utc>>,
}

impl SenderFacts {
    /// The limits in force at `at` (the first ones for an instant before the connection).
    pub fn limits_at(&self, at: DateTime<Utc>) -> Limits {
        self.limits_history
            .iter()
            .rev()
            .find(|(from, _)| *from <= at)
            .or(self.limits_history.first())
            .map_or(self.limits, |(_, l)| *l)
    }
}

/// Every sender of the log.
#[derive(Clone, Debug, Default)]
pub struct SenderBook {
    senders: HashMap<String, SenderFacts>,
}

impl SenderBook {
    /// Folds one event of sender `account`.
    pub fn apply(&mut self, account: &str, event: &SenderAccountEvent) {
        use SenderAccountEvent as E;
        if let E::AccountConnected {
            tier,
            limits,
            timezone,
            working_hours,
            at,
            ..
        } = event
        {
            self.senders.insert(
                account.to_string(),
                SenderFacts {
                    tier: *tier,
                    timezone: *timezone,
                    working_hours: *working_hours,
                    limits: *limits,
                    limits_history: vec![(*at, *limits)],
                    pause: None,
                    disconnected_at: None,
                },
            );
            return;
        }
        let Some(facts) = self.senders.get_mut(account) else {
            return;
        };
        match event {
            E::LimitsChanged { limits, at } => {
                facts.limits = *limits;
                facts.limits_history.push((*at, *limits));
            }
            E::SendingPaused { reason, until, at } => {
                facts.pause = Some(RecordedPause {
                    reason: *reason,
                    until: *until,
                    since: *at,
                });
            }
            E::SendingResumed { .. } => facts.pause = None,
            E::AccountDisconnected { at } => facts.disconnected_at = Some(*at),
            E::AccountConnected { .. }
            | E::WarningReceived { .. }
            | E::AccountReconnected { .. } => {}
        }
    }

    /// A sender as the log describes it so far.
    pub fn get(&self, account: &str) -> Option<&SenderFacts> {
        self.senders.get(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use plera_domain::ids::{AccountId, OwnerId, ProviderAccountId, WorkspaceId};

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn limits(daily: u32) -> Limits {
        Limits {
            daily_invites: daily,
            daily_messages: 10,
            weekly_invites: 50,
        }
    }

    #[test]
    fn the_book_follows_limits_and_pauses_in_log_order() {
        let mut book = SenderBook::default();
        book.apply(
            "acc-1",
            &SenderAccountEvent::AccountConnected {
                workspace_id: WorkspaceId::new("ws"),
                account_id: AccountId::new("acc-1"),
                provider_account_id: ProviderAccountId::new("li"),
                owner: OwnerId::new("o"),
                tier: Tier::Free,
                limits: limits(5),
                timezone: chrono_tz::Europe::Paris,
                working_hours: WorkingHours::default(),
                warm_up: false,
                at: t(0),
            },
        );
        book.apply(
            "acc-1",
            &SenderAccountEvent::LimitsChanged {
                limits: limits(9),
                at: t(10),
            },
        );
        book.apply(
            "acc-1",
            &SenderAccountEvent::SendingPaused {
                reason: PauseReason::RateLimited,
                until: Some(t(15)),
                at: t(12),
            },
        );
        let facts = book.get("acc-1").unwrap();
        assert_eq!(facts.limits_at(t(5)).daily_invites, 5);
        assert_eq!(facts.limits_at(t(11)).daily_invites, 9);
        let pause = facts.pause.unwrap();
        assert!(pause.holds_at(t(14)));
        assert!(!pause.holds_at(t(15)));
        book.apply("acc-1", &SenderAccountEvent::SendingResumed { at: t(15) });
        assert_eq!(book.get("acc-1").unwrap().pause, None);
        assert!(book.get("acc-2").is_none());
    }
}
