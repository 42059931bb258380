//! Properties of `SenderQuota` against an auditor written from scratch in this file: it knows
//! nothing of `window`, `usage` or `warm_up`, only the rules as DESIGN §5.1–2 states them.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;
use crate::seed::splitmix64;

/// Zones with DST on Sundays (Paris, New York, Sydney, Lord Howe's 30-minute shift, Chatham at
/// 02:45), on weekdays (Cairo: Friday 00:00 spring-forward, Thursday 24:00 fall-back), without DST
/// (Kolkata +05:30, Kathmandu +05:45) and far from UTC (Kiritimati +14, Pago Pago −11).
const ZONES: [Tz; 11] = [
    chrono_tz::Europe::Paris,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Sydney,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Pacific::Chatham,
    chrono_tz::Africa::Cairo,
    chrono_tz::America::Havana,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Asia::Kathmandu,
    chrono_tz::Pacific::Kiritimati,
    chrono_tz::Pacific::Pago_Pago,
];

/// Start dates a little before the 2026 DST changes of the zones above.
const STARTS: [&str; 5] = [
    "2026-02-26T00:00:00Z",
    "2026-03-20T00:00:00Z",
    "2026-04-01T00:00:00Z",
    "2026-09-24T00:00:00Z",
    "2026-10-20T00:00:00Z",
];

#[derive(Clone, Debug)]
enum Step {
    /// Let minutes pass.
    Wait(u32),
    /// Try the action now; record it only if `check` allows it.
    Try(Action),
    /// Jump to `next_allowed` (if within a fortnight) and record the action there.
    Take(Action),
    /// Probe `next_allowed` now without recording (property 2).
    Probe(Action, u64),
}

#[derive(Clone, Debug)]
struct Scenario {
    limits: Limits,
    zone: Tz,
    start_min: u32,
    len_min: u32,
    days: Vec<Weekday>,
    warm_up: bool,
    /// Connection, in minutes before the start.
    connected_before: u32,
    start: DateTime<Utc>,
    seed: u64,
    steps: Vec<Step>,
}

impl Scenario {
    fn hours(&self) -> WorkingHours {
        let t = |m: u32| NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap();
        WorkingHours::new(t(self.start_min), t(self.start_min + self.len_min)).unwrap()
    }

    fn connected_at(&self) -> DateTime<Utc> {
        self.start - TimeDelta::minutes(i64::from(self.connected_before))
    }

    fn quota(&self) -> SenderQuota {
        let profile = SenderProfile {
            limits: self.limits,
            tier: Tier::Free,
            warm_up: self.warm_up,
            connected_at: self.connected_at(),
            tz: self.zone,
            hours: self.hours(),
        };
        let policy = QuotaPolicy {
            working_days: WorkingDays::new(self.days.iter().copied()).unwrap(),
            ..QuotaPolicy::default()
        };
        SenderQuota::new(profile, policy, self.seed, "acct-prop")
    }
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Invite),
        Just(Action::Message),
        Just(Action::Email)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1u32..=720).prop_map(Step::Wait),
        2 => (1u32..=20).prop_map(Step::Wait),
        3 => action().prop_map(Step::Try),
        4 => action().prop_map(Step::Take),
        1 => (action(), any::<u64>()).prop_map(|(a, s)| Step::Probe(a, s)),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    // Weekly caps are often below 5 × daily, so the rolling week binds as often as the day.
    let weekly = prop_oneof![0u32..=8, 0u32..=20];
    let limits = (0u32..=6, 0u32..=6, weekly).prop_map(|(i, m, w)| Limits {
        daily_invites: i,
        daily_messages: m,
        weekly_invites: w,
    });
    // Windows of any length anywhere in the day, often around 00:00–03:00 where DST shifts happen.
    let hours = prop_oneof![
        (0u32..24 * 60 - 1).prop_flat_map(|s| (Just(s), 1..=(24 * 60 - 1 - s))),
        (0u32..180).prop_flat_map(|s| (Just(s), 1u32..=240)),
    ];
    let days = prop::collection::btree_set(0u8..7, 1..=7).prop_map(|set| {
        set.into_iter()
            .map(|d| Weekday::try_from(d).unwrap())
            .collect::<Vec<_>>()
    });
    (
        limits,
        0..ZONES.len(),
        hours,
        days,
        any::<bool>(),
        0u32..30 * 24 * 60,
        0..STARTS.len(),
        any::<u64>(),
        prop::collection::vec(step(), 20..200),
    )
        .prop_map(
            |(
                limits,
                zone,
                (start_min, len_min),
                days,
                warm_up,
                connected_before,
                start,
                seed,
                steps,
            )| {
                Scenario {
                    limits,
                    zone: ZONES[zone],
                    start_min,
                    len_min,
                    days,
                    warm_up,
                    connected_before,
                    start: DateTime::parse_from_rfc3339(STARTS[start])
                        .unwrap()
                        .to_utc(),
                    seed,
                    steps,
                }
            },
        )
}

/// The independent auditor: what DESIGN §5.1–2 demand of a sender's recorded actions.
struct Auditor<'a> {
    sc: &'a Scenario,
}

impl Auditor<'_> {
    /// A cap on a local date: 20 % at connection rising by 80 %/14 a day, floored, ≥ 1 if cap > 0.
    fn cap(&self, cap: u32, date: NaiveDate) -> u32 {
        let connected = self
            .sc
            .connected_at()
            .with_timezone(&self.sc.zone)
            .date_naive();
        let age = (date - connected).num_days().max(0) as u64;
        if !self.sc.warm_up || age >= 14 || cap == 0 {
            return cap;
        }
        let ramped = (u64::from(cap) * (20 * 14 + 80 * age) / 1400) as u32;
        ramped.max(1)
    }

    fn audit(&self, recorded: &[(DateTime<Utc>, Action)]) -> Result<(), TestCaseError> {
        let sc = self.sc;
        let hours = sc.hours();
        let mut per_day: HashMap<(NaiveDate, Action), u32> = HashMap::new();
        let mut last: Option<DateTime<Utc>> = None;
        for &(at, action) in recorded {
            prop_assert!(
                action != Action::Email,
                "email recorded as a LinkedIn action"
            );
            let local = at.with_timezone(&sc.zone);
            // Property 3: inside working hours on a working day, on the local clock.
            prop_assert!(
                sc.days.contains(&local.weekday()),
                "{local} is not a working day"
            );
            let time = local.time();
            prop_assert!(
                time >= hours.start() && time < hours.end(),
                "{local} outside {}–{}",
                hours.start(),
                hours.end()
            );
            if let Some(prev) = last {
                prop_assert!(at - prev >= pacing::MIN_GAP, "gap {prev} → {at}");
            }
            last = Some(at);
            let date = local.date_naive();
            let n = per_day.entry((date, action)).or_default();
            *n += 1;
            let daily = match action {
                Action::Invite => sc.limits.daily_invites,
                _ => sc.limits.daily_messages,
            };
            prop_assert!(*n <= self.cap(daily, date), "{n} {action}s on {date}");
            prop_assert!(*n <= daily);
            if action == Action::Invite {
                let in_week = recorded
                    .iter()
                    .filter(|(u, a)| {
                        *a == Action::Invite && *u > at - TimeDelta::hours(7 * 24) && *u <= at
                    })
                    .count() as u32;
                let weekly = sc.limits.weekly_invites;
                prop_assert!(
                    in_week <= self.cap(weekly, date) && in_week <= weekly,
                    "{in_week} invites in the 7 × 24 h up to {at}"
                );
            }
        }
        Ok(())
    }
}

/// Runs the scenario, recording only what `check` allows; returns what was recorded.
fn run(
    sc: &Scenario,
    mut probe: impl FnMut(&SenderQuota, Action, DateTime<Utc>, u64) -> Result<(), TestCaseError>,
) -> Result<Vec<(DateTime<Utc>, Action)>, TestCaseError> {
    let mut q = sc.quota();
    let mut now = sc.start;
    let mut recorded = Vec::new();
    for step in &sc.steps {
        match *step {
            Step::Wait(m) => now += TimeDelta::minutes(i64::from(m)),
            Step::Try(a) => {
                if q.check(a, now).is_ok() {
                    q.record(a, now);
                    if a.is_linkedin() {
                        recorded.push((now, a));
                    }
                }
            }
            Step::Take(a) => match q.next_allowed(a, now) {
                Some(slot) if slot - now <= TimeDelta::days(14) => {
                    prop_assert!(slot >= now);
                    prop_assert_eq!(q.check(a, slot), Ok(()));
                    now = slot;
                    q.record(a, now);
                    if a.is_linkedin() {
                        recorded.push((now, a));
                    }
                }
                Some(_) => {}
                None => prop_assert!(q.check(a, now).is_err()),
            },
            Step::Probe(a, s) => probe(&q, a, now, s)?,
        }
    }
    Ok(recorded)
}

/// Property 2 at one instant: `next_allowed` passes `check`, and nothing earlier does (sampled).
fn probe_next_allowed(
    q: &SenderQuota,
    action: Action,
    at: DateTime<Utc>,
    salt: u64,
) -> Result<(), TestCaseError> {
    let Some(slot) = q.next_allowed(action, at) else {
        let l = q.profile().limits;
        let zero = match action {
            Action::Invite => l.daily_invites == 0 || l.weekly_invites == 0,
            Action::Message => l.daily_messages == 0,
            Action::Email => false,
        };
        prop_assert!(zero, "no slot for {action} with {l:?}");
        return Ok(());
    };
    prop_assert!(slot >= at);
    prop_assert_eq!(q.check(action, slot), Ok(()), "slot {} from {}", slot, at);
    let just_before = slot - TimeDelta::seconds(1);
    if just_before >= at {
        prop_assert!(
            q.check(action, just_before).is_err(),
            "{just_before} passes"
        );
    }
    // Whole minutes in [at, slot): the first, the last, and a spread of random ones.
    let first = at.timestamp().div_euclid(60)
        + i64::from(at.timestamp().rem_euclid(60) != 0 || at.timestamp_subsec_nanos() != 0);
    let last = (slot - TimeDelta::nanoseconds(1))
        .timestamp()
        .div_euclid(60);
    if last < first {
        return Ok(());
    }
    let count = (last - first + 1) as u64;
    let mut picks = vec![first, last];
    let mut r = salt;
    for _ in 0..24 {
        r = splitmix64(r);
        picks.push(first + (r % count) as i64);
    }
    for m in picks {
        let t = DateTime::from_timestamp(m * 60, 0).unwrap();
        prop_assert!(t >= at && t < slot);
        prop_assert!(
            q.check(action, t).is_err(),
            "{t} passes before the slot {slot}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Properties 1 and 3: whatever is attempted, what `check` lets through never exceeds a limit
    /// and always lies in working hours on a working day, as the auditor counts it.
    #[test]
    fn recorded_actions_never_exceed_limits(sc in scenario()) {
        let recorded = run(&sc, |_, _, _, _| Ok(()))?;
        Auditor { sc: &sc }.audit(&recorded)?;
    }

    /// Property 2: `next_allowed` is an instant where `check` passes, and no earlier minute is.
    #[test]
    fn next_allowed_is_the_earliest_passing_instant(sc in scenario()) {
        run(&sc, probe_next_allowed)?;
    }
}

/// The generator must actually reach the limits and cross DST changes, or property 1 proves little.
#[test]
fn scenarios_reach_the_limits_and_cross_dst() {
    use chrono::Offset;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut daily_full, mut weekly_full, mut dst_spans) = (0, 0, 0);
    for _ in 0..96 {
        let sc = scenario().new_tree(&mut runner).unwrap().current();
        let recorded = run(&sc, |_, _, _, _| Ok(())).unwrap();
        let auditor = Auditor { sc: &sc };
        let mut per_day: HashMap<(NaiveDate, Action), u32> = HashMap::new();
        let (mut day_hit, mut week_hit) = (false, false);
        for &(at, action) in &recorded {
            let date = at.with_timezone(&sc.zone).date_naive();
            let n = per_day.entry((date, action)).or_default();
            *n += 1;
            let daily = match action {
                Action::Invite => sc.limits.daily_invites,
                _ => sc.limits.daily_messages,
            };
            day_hit |= *n == auditor.cap(daily, date);
            if action == Action::Invite {
                let in_week = recorded
                    .iter()
                    .filter(|(u, a)| {
                        *a == Action::Invite && *u > at - TimeDelta::days(7) && *u <= at
                    })
                    .count() as u32;
                week_hit |= in_week == auditor.cap(sc.limits.weekly_invites, date);
            }
        }
        daily_full += u32::from(day_hit);
        weekly_full += u32::from(week_hit);
        if let Some(&(last, _)) = recorded.last() {
            let offset = |t: DateTime<Utc>| t.with_timezone(&sc.zone).offset().fix();
            dst_spans += u32::from(offset(sc.start) != offset(last));
        }
    }
    eprintln!(
        "of 96: {daily_full} reach a daily cap, {weekly_full} a weekly cap, {dst_spans} cross DST"
    );
    assert!(daily_full >= 30, "{daily_full} scenarios reach a daily cap");
    assert!(
        weekly_full >= 15,
        "{weekly_full} scenarios reach a weekly cap"
    );
    assert!(dst_spans >= 15, "{dst_spans} scenarios span a DST change");
}
