//! The warm-up ramp of a new LinkedIn account: a fresh account that starts at full speed is the
//! quickest way to a restriction, so its caps start low and rise to 100 % over two weeks.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::window::local_day;
use crate::values::Limits;

/// Local days after connection at which the ramp reaches 100 % of each cap.
pub const WARM_UP_DAYS: u32 = 14;
/// Share of each cap allowed on the day of connection, in percent.
pub const WARM_UP_START_PERCENT: u32 = 20;

/// A cap on the `age_days`-th local day after connection: 20 % on day 0 rising linearly to 100 %
/// on day [`WARM_UP_DAYS`], rounded down but never below 1 while the cap itself is above 0 (a cap
/// of 0 means "none", a ramped 0 would silently stall a new account for days).
pub fn ramp(cap: u32, age_days: u32) -> u32 {
    if age_days >= WARM_UP_DAYS || cap == 0 {
        return cap;
    }
    let start = u64::from(WARM_UP_START_PERCENT);
    let days = u64::from(WARM_UP_DAYS);
    // percent(age) = start + (100 − start) · age / days, kept exact by scaling by `days`.
    let scaled_percent = start * days + (100 - start) * u64::from(age_days);
    let value = u64::from(cap) * scaled_percent / (100 * days);
    u32::try_from(value).unwrap_or(cap).clamp(1, cap)
}

/// Whole local days from the connection's local date to `at`'s (0 on the day itself, and before).
pub fn age_in_days(connected_at: DateTime<Utc>, at: DateTime<Utc>, tz: Tz) -> u32 {
    let days = (local_day(tz, at) - local_day(tz, connected_at)).num_days();
    u32::try_from(days.max(0)).unwrap_or(u32::MAX)
}

/// The limits in force at `at`: the configured ones, ramped while a warming account is young.
pub fn effective_limits(
    limits: Limits,
    warm_up: bool,
    connected_at: DateTime<Utc>,
    at: DateTime<Utc>,
    tz: Tz,
) -> Limits {
    if !warm_up {
        return limits;
    }
    let age = age_in_days(connected_at, at, tz);
    Limits {
        daily_invites: ramp(limits.daily_invites, age),
        daily_messages: ramp(limits.daily_messages, age),
        weekly_invites: ramp(limits.weekly_invites, age),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const LIMITS: Limits = Limits {
        daily_invites: 80,
        daily_messages: 150,
        weekly_invites: 200,
    };

    #[test]
    fn ramp_points() {
        assert_eq!(ramp(80, 0), 16);
        assert_eq!(ramp(80, 7), 48); // 60 %
        assert_eq!(ramp(80, 13), 75); // 94.3 % of 80 = 75.4
        assert_eq!(ramp(80, 14), 80);
        assert_eq!(ramp(80, 30), 80);
        assert_eq!(ramp(15, 0), 3);
        assert_eq!(ramp(15, 1), 3); // 25.7 % of 15 = 3.86
    }

    #[test]
    fn ramp_keeps_at_least_one_but_zero_stays_zero() {
        assert_eq!(ramp(1, 0), 1);
        assert_eq!(ramp(4, 0), 1); // 0.8 floored would stall the account
        assert_eq!(ramp(0, 0), 0);
        assert_eq!(ramp(0, 20), 0);
    }

    #[test]
    fn ramp_never_decreases_with_age() {
        for cap in 0..=300 {
            let mut prev = 0;
            for age in 0..=20 {
                let v = ramp(cap, age);
                assert!(v >= prev && v <= cap, "cap {cap} age {age}");
                prev = v;
            }
        }
    }

    #[test]
    fn effective_limits_day_0_7_14_30() {
        let tz = chrono_tz::Europe::Paris;
        let connected = utc("2026-03-02T16:00:00Z"); // Monday 17:00 in Paris
        let at = |days: i64| connected + chrono::TimeDelta::days(days);
        let day0 = effective_limits(LIMITS, true, connected, at(0), tz);
        assert_eq!(
            day0,
            Limits {
                daily_invites: 16,
                daily_messages: 30,
                weekly_invites: 40
            }
        );
        let day7 = effective_limits(LIMITS, true, connected, at(7), tz);
        assert_eq!(
            day7,
            Limits {
                daily_invites: 48,
                daily_messages: 90,
                weekly_invites: 120
            }
        );
        assert_eq!(
            effective_limits(LIMITS, true, connected, at(14), tz),
            LIMITS
        );
        assert_eq!(
            effective_limits(LIMITS, true, connected, at(30), tz),
            LIMITS
        );
        assert_eq!(
            effective_limits(LIMITS, false, connected, at(0), tz),
            LIMITS
        );
    }

    #[test]
    fn age_counts_local_days_not_24_hours() {
        // Connected at 23:30 local on Monday; 00:30 local Tuesday is day 1 an hour later.
        let tz = chrono_tz::Asia::Kolkata;
        let connected = utc("2026-06-01T18:00:00Z"); // 23:30 IST
        assert_eq!(age_in_days(connected, utc("2026-06-01T18:29:59Z"), tz), 0);
        assert_eq!(age_in_days(connected, utc("2026-06-01T19:00:00Z"), tz), 1);
        // Before the connection counts as day 0, not as a negative age.
        assert_eq!(age_in_days(connected, utc("2026-05-20T10:00:00Z"), tz), 0);
    }
}
