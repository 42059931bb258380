//! Example-based tests of `SenderQuota`; the properties are in `proptests.rs`.

use chrono::{DateTime, Datelike, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const PARIS: Tz = chrono_tz::Europe::Paris;
const NEW_YORK: Tz = chrono_tz::America::New_York;

fn limits(daily_invites: u32, daily_messages: u32, weekly_invites: u32) -> Limits {
    Limits {
        daily_invites,
        daily_messages,
        weekly_invites,
    }
}

fn sender(tz: Tz, limits: Limits, warm_up: bool, connected_at: &str) -> SenderQuota {
    let profile = SenderProfile {
        limits,
        tier: Tier::Premium,
        warm_up,
        connected_at: utc(connected_at),
        tz,
        hours: WorkingHours::parse("09:00", "17:00").unwrap(),
    };
    SenderQuota::new(profile, QuotaPolicy::default(), 7, "acct-1")
}

/// Records at `at` after asserting the quota allows it there.
fn take(q: &mut SenderQuota, action: Action, at: DateTime<Utc>) {
    assert_eq!(q.check(action, at), Ok(()), "{action} at {at}");
    q.record(action, at);
}

#[test]
fn email_is_not_limited() {
    let q = sender(PARIS, limits(0, 0, 0), false, "2026-01-01T00:00:00Z");
    let sunday_night = utc("2026-06-07T01:00:00Z");
    assert_eq!(q.check(Action::Email, sunday_night), Ok(()));
    assert_eq!(
        q.next_allowed(Action::Email, sunday_night),
        Some(sunday_night)
    );
    let mut q = q;
    q.record(Action::Email, sunday_night);
    assert!(q.log().is_empty());
    assert_eq!(q.last_action_at(), None);
}

#[test]
fn zero_limits_never_allow() {
    let q = sender(PARIS, limits(10, 0, 0), true, "2026-06-01T07:00:00Z");
    let monday = utc("2026-06-01T08:00:00Z");
    assert_eq!(
        q.check(Action::Invite, monday),
        Err(Refusal::ZeroLimit {
            action: Action::Invite
        })
    );
    assert_eq!(q.next_allowed(Action::Invite, monday), None);
    assert_eq!(q.next_allowed(Action::Message, monday), None);
}

#[test]
fn outside_hours_and_weekends_are_refused_and_the_next_slot_is_the_opening() {
    let q = sender(PARIS, limits(10, 10, 50), false, "2026-01-01T00:00:00Z");
    let saturday_noon = utc("2026-06-06T10:00:00Z");
    assert_eq!(
        q.check(Action::Message, saturday_noon),
        Err(Refusal::OutsideWorkingHours)
    );
    // Monday 09:00 CEST.
    assert_eq!(
        q.next_allowed(Action::Message, saturday_noon),
        Some(utc("2026-06-08T07:00:00Z"))
    );
    let monday_evening = utc("2026-06-08T15:00:00Z"); // 17:00 CEST: closed (end exclusive)
    assert_eq!(
        q.check(Action::Invite, monday_evening),
        Err(Refusal::OutsideWorkingHours)
    );
}

#[test]
fn weekend_days_can_be_working_days_when_configured() {
    let mut q = sender(PARIS, limits(10, 10, 50), false, "2026-01-01T00:00:00Z");
    q.policy.working_days = WorkingDays::new([Weekday::Sat, Weekday::Sun]).unwrap();
    assert_eq!(q.check(Action::Invite, utc("2026-06-06T10:00:00Z")), Ok(()));
    assert_eq!(
        q.check(Action::Invite, utc("2026-06-08T10:00:00Z")),
        Err(Refusal::OutsideWorkingHours)
    );
}

#[test]
fn gap_refuses_too_soon_and_next_allowed_waits_for_it() {
    let mut q = sender(PARIS, limits(10, 10, 50), false, "2026-01-01T00:00:00Z");
    let t = utc("2026-06-01T08:00:00Z");
    take(&mut q, Action::Invite, t);
    let until = q.gap_until().unwrap();
    assert!(until >= t + pacing::MIN_GAP && until < t + pacing::MIN_GAP + pacing::MAX_JITTER);
    // The gap holds across action kinds.
    assert_eq!(
        q.check(Action::Message, t + TimeDelta::seconds(60)),
        Err(Refusal::TooSoon { until })
    );
    assert_eq!(
        q.check(Action::Invite, until - TimeDelta::milliseconds(1)),
        Err(Refusal::TooSoon { until })
    );
    assert_eq!(q.check(Action::Invite, until), Ok(()));
    assert_eq!(q.next_allowed(Action::Message, t), Some(until));
    // An instant before the last action is refused: the log is append-only.
    assert!(matches!(
        q.check(Action::Invite, t - TimeDelta::minutes(30)),
        Err(Refusal::TooSoon { .. })
    ));
}

#[test]
fn gaps_are_replayable_from_seed_and_key() {
    let build = |seed: u64| {
        let mut q = sender(PARIS, limits(50, 50, 200), false, "2026-01-01T00:00:00Z");
        q.seed = seed;
        let mut t = utc("2026-06-01T07:00:00Z");
        let mut slots = Vec::new();
        for _ in 0..5 {
            t = q.next_allowed(Action::Message, t).unwrap();
            q.record(Action::Message, t);
            slots.push(t);
        }
        slots
    };
    assert_eq!(build(1), build(1));
    assert_ne!(build(1), build(2));
}

#[test]
fn daily_cap_moves_the_slot_to_the_next_working_day() {
    let mut q = sender(PARIS, limits(2, 1, 50), false, "2026-01-01T00:00:00Z");
    let friday = utc("2026-06-05T07:00:00Z"); // 09:00 CEST
    take(&mut q, Action::Invite, friday);
    take(&mut q, Action::Invite, friday + TimeDelta::minutes(10));
    take(&mut q, Action::Message, friday + TimeDelta::minutes(20));
    let later = friday + TimeDelta::minutes(30);
    assert_eq!(
        q.check(Action::Invite, later),
        Err(Refusal::DailyLimit {
            action: Action::Invite,
            cap: 2
        })
    );
    assert_eq!(
        q.check(Action::Message, later),
        Err(Refusal::DailyLimit {
            action: Action::Message,
            cap: 1
        })
    );
    assert_eq!(
        q.next_allowed(Action::Invite, later),
        Some(utc("2026-06-08T07:00:00Z"))
    );
    assert_eq!(
        q.usage_today(later),
        Usage {
            invites: 2,
            messages: 1,
            weekly_invites: 2
        }
    );
    // Monday is a new local day: nothing used today, the week still holds Friday's invites.
    assert_eq!(
        q.usage_today(utc("2026-06-08T07:00:00Z")),
        Usage {
            invites: 0,
            messages: 0,
            weekly_invites: 2
        }
    );
}

#[test]
fn daily_count_follows_the_local_day_across_utc_midnight() {
    // New York 09:00–17:00 EDT is 13:00Z–21:00Z; hours ending after UTC midnight test the local day.
    let mut q = sender(NEW_YORK, limits(1, 5, 50), false, "2026-01-01T00:00:00Z");
    q.profile.hours = WorkingHours::parse("18:00", "23:30").unwrap();
    let tuesday_2300 = utc("2026-06-03T03:00:00Z"); // Tuesday 23:00 EDT, Wednesday in UTC
    take(&mut q, Action::Invite, utc("2026-06-02T22:00:00Z")); // Tuesday 18:00 EDT
    assert!(matches!(
        q.check(Action::Invite, tuesday_2300),
        Err(Refusal::DailyLimit { .. })
    ));
    assert_eq!(
        q.next_allowed(Action::Invite, tuesday_2300),
        Some(utc("2026-06-03T22:00:00Z"))
    );
}

#[test]
fn rolling_week_refuses_where_a_calendar_week_would_allow() {
    let mut q = sender(PARIS, limits(10, 10, 2), false, "2026-01-01T00:00:00Z");
    let thursday = utc("2026-06-04T08:00:00Z");
    take(&mut q, Action::Invite, thursday);
    take(&mut q, Action::Invite, utc("2026-06-05T08:00:00Z")); // Friday
    let monday = utc("2026-06-08T08:00:00Z");
    // A new ISO week has begun, so a calendar-week count would be 0 here; the rolling week is not.
    assert_eq!(monday.iso_week().week(), thursday.iso_week().week() + 1);
    assert_eq!(
        q.check(Action::Invite, monday),
        Err(Refusal::WeeklyLimit { cap: 2 })
    );
    // The slot opens exactly 7 × 24 h after Thursday's invite.
    assert_eq!(
        q.next_allowed(Action::Invite, monday),
        Some(thursday + TimeDelta::days(7))
    );
    assert_eq!(
        q.check(Action::Invite, thursday + TimeDelta::days(7)),
        Ok(())
    );
    // Messages are not limited by the weekly invite count.
    assert_eq!(q.check(Action::Message, monday), Ok(()));
}

#[test]
fn rolling_week_allows_where_a_wall_clock_week_would_refuse() {
    // New York falls back on Sunday 2026-11-01: the week from Monday 26 Oct 09:00 EDT is 7 × 24 h
    // long in instants but ends at Monday 2 Nov 08:00 EST on the wall clock.
    let mut q = sender(NEW_YORK, limits(10, 10, 1), false, "2026-01-01T00:00:00Z");
    q.profile.hours = WorkingHours::parse("08:00", "17:00").unwrap();
    let sent = utc("2026-10-26T13:00:00Z"); // Monday 09:00 EDT
    take(&mut q, Action::Invite, sent);
    let next_monday_0830 = utc("2026-11-02T13:30:00Z"); // 08:30 EST
                                                        // "Since the same wall time a week ago" (26 Oct 08:30) would still include the 09:00 invite.
    let local = next_monday_0830.with_timezone(&NEW_YORK);
    let wall_week_start = (local.naive_local() - TimeDelta::days(7))
        .and_local_timezone(NEW_YORK)
        .unwrap();
    assert!(sent.with_timezone(&NEW_YORK) > wall_week_start);
    assert_eq!(q.check(Action::Invite, next_monday_0830), Ok(()));
    // And the slot opened exactly 7 × 24 h after the invite: 08:00 EST.
    assert_eq!(
        q.next_allowed(Action::Invite, utc("2026-11-02T12:00:00Z")),
        Some(sent + TimeDelta::days(7))
    );
}

#[test]
fn warm_up_caps_a_new_account() {
    // Connected Monday 1 June 2026 in Paris: day 0 allows 20 % of 10 invites = 2.
    let mut q = sender(PARIS, limits(10, 10, 100), true, "2026-06-01T06:00:00Z");
    let monday = utc("2026-06-01T07:00:00Z");
    assert_eq!(q.effective_limits(monday), limits(2, 2, 20));
    take(&mut q, Action::Invite, monday);
    take(&mut q, Action::Invite, monday + TimeDelta::minutes(10));
    assert_eq!(
        q.check(Action::Invite, monday + TimeDelta::minutes(20)),
        Err(Refusal::DailyLimit {
            action: Action::Invite,
            cap: 2
        })
    );
    // Day 14 (Monday 15 June): full limits.
    assert_eq!(
        q.effective_limits(utc("2026-06-15T07:00:00Z")),
        limits(10, 10, 100)
    );
}

#[test]
fn warming_weekly_cap_frees_a_slot_before_the_oldest_invite_leaves() {
    // Weekly 10 ramps 2 (day 0), 2 (day 1, 2.57), 3 (day 2, 3.14): the slot comes back on day 2,
    // long before Monday's invites leave the rolling week.
    let mut q = sender(PARIS, limits(50, 50, 10), true, "2026-06-01T06:00:00Z");
    let monday = utc("2026-06-01T07:00:00Z");
    take(&mut q, Action::Invite, monday);
    take(&mut q, Action::Invite, monday + TimeDelta::minutes(10));
    let later = monday + TimeDelta::minutes(20);
    assert_eq!(
        q.check(Action::Invite, later),
        Err(Refusal::WeeklyLimit { cap: 2 })
    );
    assert_eq!(
        q.next_allowed(Action::Invite, later),
        Some(utc("2026-06-03T07:00:00Z"))
    );
}

#[test]
fn limits_changed_apply_to_actions_already_taken() {
    let mut q = sender(PARIS, limits(5, 5, 50), false, "2026-01-01T00:00:00Z");
    let t = utc("2026-06-01T07:00:00Z");
    take(&mut q, Action::Invite, t);
    take(&mut q, Action::Invite, t + TimeDelta::minutes(10));
    q.set_limits(limits(2, 5, 50));
    assert!(matches!(
        q.check(Action::Invite, t + TimeDelta::minutes(20)),
        Err(Refusal::DailyLimit { cap: 2, .. })
    ));
}

#[test]
fn filling_a_week_with_next_allowed_respects_every_limit() {
    let mut q = sender(PARIS, limits(3, 2, 10), false, "2026-01-01T00:00:00Z");
    let mut t = utc("2026-06-01T00:00:00Z");
    let mut invites = Vec::new();
    while let Some(slot) = q.next_allowed(Action::Invite, t) {
        if slot > utc("2026-06-15T00:00:00Z") {
            break;
        }
        take(&mut q, Action::Invite, slot);
        invites.push(slot);
        t = slot;
    }
    // 3 a day Mon–Wed and 1 on Thursday hit the 10 a week; Mon 8 June 07:00Z frees the first.
    let per_day = |d: u32| {
        invites
            .iter()
            .filter(|i| i.with_timezone(&PARIS).day() == d)
            .count()
    };
    assert_eq!([1, 2, 3, 4, 5].map(per_day), [3, 3, 3, 1, 0], "{invites:?}");
    assert_eq!(invites[10], utc("2026-06-08T07:00:00Z"));
}
