//! Invariant 1: per sender and local day, invites ≤ `daily_invites` and messages ≤
//! `daily_messages`; per rolling 7 × 24 h, invites ≤ `weekly_invites`. Counted on `StepStarted`
//! (so unknown outcomes count), each action against the limits in force when it started.
//! The same counting serves the provider's ledger.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::values::{Action, Limits};
use std::collections::{BTreeMap, HashMap};

use super::check::{AuditedEvent, Check, Decoded};
use super::senders::SenderBook;
use super::violation::{Rule, Source, Violation};

/// The rolling window of the weekly limit.
const WEEK: Duration = Duration::days(7);

/// One LinkedIn action of a sender, with the limits it must respect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    /// When it started.
    pub at: DateTime<Utc>,
    /// Invite or message.
    pub action: Action,
    /// The limits in force when it started.
    pub limits: Limits,
    /// Its log position or ledger line.
    pub place: Option<u64>,
}

/// Every LinkedIn action of every sender, judged once the log is read (actions are ordered by
/// time, then place, whatever order they were met in).
#[derive(Default)]
pub struct QuotaCheck {
    actions: BTreeMap<String, (Tz, Vec<Counted>)>,
}

impl Check for QuotaCheck {
    fn observe(
        &mut self,
        event: &AuditedEvent<'_>,
        senders: &SenderBook,
        _out: &mut Vec<Violation>,
    ) {
        let Decoded::Lead(LeadSequenceEvent::StepStarted {
            action,
            account_id: Some(account),
            at,
            ..
        }) = event.decoded
        else {
            return;
        };
        // Actions of unknown senders are reported by the working-hours check.
        if let (true, Some(facts)) = (action.is_linkedin(), senders.get(account.as_str())) {
            self.actions
                .entry(account.to_string())
                .or_insert_with(|| (facts.timezone, Vec::new()))
                .1
                .push(Counted {
                    at: *at,
                    action: *action,
                    limits: facts.limits,
                    place: Some(event.stored.position),
                });
        }
    }

    fn finish(&mut self, _senders: &SenderBook, out: &mut Vec<Violation>) {
        for (account, (tz, actions)) in &mut self.actions {
            out.extend(over_limits(account, *tz, actions, Source::Log));
        }
    }
}

/// The limits `actions` of sender `account` (days in `tz`) break: one violation per sender,
/// action and local day (daily), and per local day on which the rolling week overflowed.
pub fn over_limits(
    account: &str,
    tz: Tz,
    actions: &mut [Counted],
    source: Source,
) -> Vec<Violation> {
    actions.sort_by_key(|a| (a.at, a.place));
    let day = |at: DateTime<Utc>| at.with_timezone(&tz).date_naive();
    let violation = |rule, place, message| Violation {
        invariant: Rule::invariant(rule),
        rule,
        source,
        position: place,
        subject: account.to_string(),
        message,
    };
    let mut out = Vec::new();

    let mut totals: HashMap<(Action, NaiveDate), u32> = HashMap::new();
    for a in actions.iter() {
        *totals.entry((a.action, day(a.at))).or_default() += 1;
    }
    let mut running: HashMap<(Action, NaiveDate), u32> = HashMap::new();
    let mut reported: Vec<(Action, NaiveDate)> = Vec::new();
    for a in actions.iter() {
        let key = (a.action, day(a.at));
        let n = running.entry(key).or_default();
        *n += 1;
        let (cap, rule) = match a.action {
            Action::Invite => (a.limits.daily_invites, Rule::DailyInvites),
            Action::Message => (a.limits.daily_messages, Rule::DailyMessages),
            Action::Email => continue,
        };
        if *n > cap && !reported.contains(&key) {
            reported.push(key);
            out.push(violation(
                rule,
                a.place,
                format!(
                    "{} {}s on local day {} (limit {cap})",
                    totals[&key], a.action, key.1
                ),
            ));
        }
    }

    let invites: Vec<&Counted> = actions
        .iter()
        .filter(|a| a.action == Action::Invite)
        .collect();
    let mut from = 0;
    let mut weekly_days: Vec<NaiveDate> = Vec::new();
    for (i, a) in invites.iter().enumerate() {
        while invites[from].at <= a.at - WEEK {
            from += 1;
        }
        let in_window = (i - from + 1) as u64;
        let cap = a.limits.weekly_invites;
        if in_window > u64::from(cap) && !weekly_days.contains(&day(a.at)) {
            weekly_days.push(day(a.at));
            out.push(violation(
                Rule::WeeklyInvites,
                a.place,
                format!(
                    "{in_window} invites in the 7 × 24 h up to {} (limit {cap})",
                    a.at.to_rfc3339()
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: i64, hour: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
            + Duration::days(day)
            + Duration::hours(hour)
    }

    fn counted(at: DateTime<Utc>, action: Action, place: u64) -> Counted {
        Counted {
            at,
            action,
            limits: Limits {
                daily_invites: 2,
                daily_messages: 1,
                weekly_invites: 5,
            },
            place: Some(place),
        }
    }

    #[test]
    fn within_limits_nothing_is_reported() {
        let mut actions: Vec<Counted> = (0..5)
            .flat_map(|d| {
                [
                    counted(at(d * 2, 10), Action::Invite, 1),
                    counted(at(d * 2, 11), Action::Message, 2),
                ]
            })
            .collect();
        assert_eq!(over_limits("a", Tz::UTC, &mut actions, Source::Log), vec![]);
    }

    #[test]
    fn a_third_invite_a_day_and_a_sixth_a_week_are_reported_once() {
        let mut actions = vec![
            counted(at(0, 10), Action::Invite, 1),
            counted(at(0, 11), Action::Invite, 2),
            counted(at(0, 12), Action::Invite, 3),
            counted(at(0, 13), Action::Invite, 4),
            counted(at(1, 10), Action::Message, 5),
            counted(at(1, 11), Action::Message, 6),
            counted(at(2, 10), Action::Invite, 7),
            counted(at(3, 10), Action::Invite, 8),
        ];
        let found = over_limits("a", Tz::UTC, &mut actions, Source::Log);
        let rules: Vec<(Rule, Option<u64>)> = found.iter().map(|v| (v.rule, v.position)).collect();
        assert_eq!(
            rules,
            vec![
                (Rule::DailyInvites, Some(3)),
                (Rule::DailyMessages, Some(6)),
                (Rule::WeeklyInvites, Some(8)),
            ]
        );
        assert!(found[0].message.starts_with("4 invites"));
    }

    #[test]
    fn the_week_rolls_and_days_are_local() {
        // 5 invites, then the sixth exactly 7 × 24 h after the first: the first has left.
        let mut actions: Vec<Counted> = (0..5)
            .map(|d| counted(at(d, 10), Action::Invite, d as u64))
            .collect();
        actions.push(counted(at(7, 10), Action::Invite, 9));
        assert_eq!(over_limits("a", Tz::UTC, &mut actions, Source::Log), vec![]);
        // 23:30 and 00:30 UTC are one local day in New York: 3 invites that day.
        let ny = chrono_tz::America::New_York;
        let mut actions = vec![
            counted(at(0, 15), Action::Invite, 1),
            counted(at(0, 23), Action::Invite, 2),
            counted(at(1, 1), Action::Invite, 3),
        ];
        let found = over_limits("a", ny, &mut actions, Source::Ledger);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, Rule::DailyInvites);
        assert_eq!(found[0].source, Source::Ledger);
    }
}
