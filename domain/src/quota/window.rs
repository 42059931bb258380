//! Working hours and working days in the sender's IANA time zone, DST-correct.
//!
//! "Inside the window" is defined on the local wall clock: the local weekday is a working day and
//! the local time of day is in `[start, end)`. Everything else (the next opening, the end of a
//! local day) is derived from that definition by searching instants, so a DST gap or a repeated
//! hour can never make [`next_open`] and [`is_within`] disagree.

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use thiserror::Error;

use crate::values::WorkingHours;

/// The days of the week on which a sender acts; never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkingDays {
    /// Bit `n` set = the weekday `n` days from Monday is a working day.
    mask: u8,
}

/// Why a set of working days was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkingDaysError {
    /// No day at all: the sender could never act, which is a configuration mistake, not a plan.
    #[error("at least one working day is needed")]
    Empty,
}

impl WorkingDays {
    /// Builds the set from the given days; an empty set is refused.
    pub fn new(days: impl IntoIterator<Item = Weekday>) -> Result<Self, WorkingDaysError> {
        let mask = days
            .into_iter()
            .fold(0u8, |m, d| m | (1 << d.num_days_from_monday()));
        if mask == 0 {
            return Err(WorkingDaysError::Empty);
        }
        Ok(Self { mask })
    }

    /// All seven days.
    pub fn every_day() -> Self {
        Self { mask: 0x7f }
    }

    /// Whether the sender acts on this weekday.
    pub fn contains(&self, day: Weekday) -> bool {
        self.mask & (1 << day.num_days_from_monday()) != 0
    }
}

impl Default for WorkingDays {
    /// Monday to Friday: weekend outreach looks like a bot.
    fn default() -> Self {
        Self { mask: 0x1f }
    }
}

/// The local calendar day of `at` in `tz`.
pub fn local_day(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Whether `at` falls inside the working hours of a working day, on the sender's local clock.
pub fn is_within(hours: &WorkingHours, days: &WorkingDays, tz: Tz, at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&tz);
    days.contains(local.weekday()) && hours.contains(local.time())
}

/// The earliest instant `>= at` inside the window.
///
/// A start that falls in a DST gap opens at the first instant after the gap; an ambiguous start
/// opens at its earlier occurrence; an hour repeated by a fall-back that lands inside the window
/// opens the window again. `None` only if no working day within two weeks has any instant in the
/// window, which no real time zone produces (or at the very end of representable time).
pub fn next_open(
    hours: &WorkingHours,
    days: &WorkingDays,
    tz: Tz,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if is_within(hours, days, tz, at) {
        return Some(at);
    }
    // Start a day early: a fall-back across midnight can bring yesterday's wall clock back.
    let first = local_day(tz, at).pred_opt()?;
    let mut best: Option<DateTime<Utc>> = None;
    for day in first.iter_days().take(16) {
        let open = day.and_time(hours.start());
        if let Some(b) = best {
            // No instant whose local time is on `day` or later can precede this bound.
            if open
                .and_utc()
                .checked_sub_signed(MAX_EAST)
                .is_some_and(|o| o > b)
            {
                break;
            }
        }
        if !days.contains(day.weekday()) {
            continue;
        }
        if let Some(c) = earliest_local_in(tz, at, open, Some(day.and_time(hours.end()))) {
            best = Some(best.map_or(c, |b| b.min(c)));
        }
    }
    best
}

/// The first instant after `at` whose local date is later than `at`'s: where "today" ends.
///
/// Local dates never run backwards in tzdata's modern rules (fall-backs at midnight repeat the
/// previous day's last hour), so every instant in `[at, day_end)` is on `at`'s local date.
/// `None` only at the end of representable time.
pub fn day_end(tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let next = local_day(tz, at).succ_opt()?;
    earliest_local_in(tz, at, next.and_time(NaiveTime::MIN), None)
}

/// The furthest any zone is ahead of UTC (+14:00), with a margin.
const MAX_EAST: TimeDelta = TimeDelta::hours(15);
/// The furthest any zone is behind UTC (−12:00), with a margin.
const MAX_WEST: TimeDelta = TimeDelta::hours(13);
/// Sampling step when looking for offset transitions; tzdata never has two within an hour.
const SAMPLE: TimeDelta = TimeDelta::hours(1);

/// The earliest instant `t >= from` with `lower <= local(t) < upper` (`upper = None`: no bound).
///
/// The instants whose local time can be in the range lie within a bounded span; that span is cut
/// into pieces of constant UTC offset, and in each piece the local clock is just `t + offset`, so
/// the answer is a max of bounds in the first non-empty piece.
fn earliest_local_in(
    tz: Tz,
    from: DateTime<Utc>,
    lower: NaiveDateTime,
    upper: Option<NaiveDateTime>,
) -> Option<DateTime<Utc>> {
    let span_start = from.max(lower.and_utc().checked_sub_signed(MAX_EAST)?);
    let span_end = match upper {
        Some(u) => u.and_utc().checked_add_signed(MAX_WEST)?,
        // Past `lower − (−12h)` every zone's clock reads at least `lower`.
        None => lower.and_utc().checked_add_signed(MAX_WEST + SAMPLE)?,
    };
    let mut piece_start = span_start;
    while piece_start < span_end {
        let offset = offset_at(tz, piece_start);
        let piece_end = next_transition(tz, piece_start, span_end);
        let candidate = piece_start.max(lower.and_utc().checked_sub_signed(offset)?);
        let below_upper = match upper {
            Some(u) => candidate.checked_add_signed(offset)? < u.and_utc(),
            None => true,
        };
        if candidate < piece_end && below_upper {
            return Some(candidate);
        }
        piece_start = piece_end;
    }
    None
}

/// The UTC offset of `tz` at `at` (local = UTC + offset).
fn offset_at(tz: Tz, at: DateTime<Utc>) -> TimeDelta {
    let secs = tz
        .offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc();
    TimeDelta::seconds(i64::from(secs))
}

/// The first instant in `(from, limit)` where the offset differs from the one at `from`, else `limit`.
fn next_transition(tz: Tz, from: DateTime<Utc>, limit: DateTime<Utc>) -> DateTime<Utc> {
    let offset = offset_at(tz, from);
    let mut lo = from;
    while lo < limit {
        let hi = lo
            .checked_add_signed(SAMPLE)
            .map_or(limit, |h| h.min(limit));
        if offset_at(tz, hi) != offset {
            return bisect(tz, lo, hi, offset);
        }
        lo = hi;
    }
    limit
}

/// The first instant in `(lo, hi]` whose offset is not `offset`, given it holds at `lo` but not at
/// `hi`. tzdata transitions fall on whole seconds, so searching whole seconds is exact.
fn bisect(tz: Tz, lo: DateTime<Utc>, hi: DateTime<Utc>, offset: TimeDelta) -> DateTime<Utc> {
    // Invariant: `lo` has `offset`, `hi` does not.
    let (mut lo_s, mut hi_s) = (lo.timestamp(), hi.timestamp());
    if hi_s <= lo_s {
        return hi;
    }
    while hi_s - lo_s > 1 {
        let mid = lo_s + (hi_s - lo_s) / 2;
        match DateTime::from_timestamp(mid, 0) {
            Some(m) if offset_at(tz, m) == offset => lo_s = mid,
            Some(_) => hi_s = mid,
            None => return hi,
        }
    }
    DateTime::from_timestamp(hi_s, 0).map_or(hi, |t| t.max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hours(start: &str, end: &str) -> WorkingHours {
        WorkingHours::parse(start, end).unwrap()
    }

    const PARIS: Tz = chrono_tz::Europe::Paris;
    const NEW_YORK: Tz = chrono_tz::America::New_York;
    const KOLKATA: Tz = chrono_tz::Asia::Kolkata;

    #[test]
    fn default_days_are_monday_to_friday() {
        let days = WorkingDays::default();
        assert!(days.contains(Weekday::Mon) && days.contains(Weekday::Fri));
        assert!(!days.contains(Weekday::Sat) && !days.contains(Weekday::Sun));
        assert_eq!(WorkingDays::new([]), Err(WorkingDaysError::Empty));
        let weekend = WorkingDays::new([Weekday::Sat, Weekday::Sun]).unwrap();
        assert!(weekend.contains(Weekday::Sun) && !weekend.contains(Weekday::Mon));
    }

    #[test]
    fn kolkata_half_hour_offset() {
        let h = hours("09:00", "17:00");
        let d = WorkingDays::default();
        // Monday 2026-06-01: 09:00 IST = 03:30Z, 17:00 IST = 11:30Z.
        assert!(!is_within(&h, &d, KOLKATA, utc("2026-06-01T03:29:59Z")));
        assert!(is_within(&h, &d, KOLKATA, utc("2026-06-01T03:30:00Z")));
        assert!(is_within(&h, &d, KOLKATA, utc("2026-06-01T11:29:59Z")));
        assert!(!is_within(&h, &d, KOLKATA, utc("2026-06-01T11:30:00Z")));
        assert_eq!(
            next_open(&h, &d, KOLKATA, utc("2026-06-01T00:00:00Z")),
            Some(utc("2026-06-01T03:30:00Z"))
        );
        // After Friday's close the next opening is Monday's.
        assert_eq!(
            next_open(&h, &d, KOLKATA, utc("2026-06-05T11:30:00Z")),
            Some(utc("2026-06-08T03:30:00Z"))
        );
        // 23:00Z Sunday is 04:30 Monday in Kolkata: already Monday locally.
        assert_eq!(
            local_day(KOLKATA, utc("2026-06-07T23:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 6, 8).unwrap()
        );
    }

    #[test]
    fn inside_returns_at_itself() {
        let h = hours("09:00", "17:00");
        let at = utc("2026-06-02T10:15:30.5Z");
        assert_eq!(next_open(&h, &WorkingDays::default(), PARIS, at), Some(at));
    }

    #[test]
    fn nine_am_follows_the_paris_dst_change() {
        let h = hours("09:00", "17:00");
        let d = WorkingDays::default();
        // Friday before spring-forward: 09:00 CET = 08:00Z; Monday after: 09:00 CEST = 07:00Z.
        assert_eq!(
            next_open(&h, &d, PARIS, utc("2026-03-27T00:00:00Z")),
            Some(utc("2026-03-27T08:00:00Z"))
        );
        assert_eq!(
            next_open(&h, &d, PARIS, utc("2026-03-27T16:00:00Z")),
            Some(utc("2026-03-30T07:00:00Z"))
        );
        // Fall-back: Friday 23 Oct 09:00 CEST = 07:00Z; Monday 26 Oct 09:00 CET = 08:00Z.
        assert_eq!(
            next_open(&h, &d, PARIS, utc("2026-10-23T15:00:00Z")),
            Some(utc("2026-10-26T08:00:00Z"))
        );
    }

    #[test]
    fn start_in_spring_forward_gap_opens_after_the_gap() {
        let d = WorkingDays::every_day();
        // Paris, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z; 02:30 does not exist.
        let h = hours("02:30", "05:00");
        let open = next_open(&h, &d, PARIS, utc("2026-03-28T22:00:00Z"));
        assert_eq!(open, Some(utc("2026-03-29T01:00:00Z")));
        assert!(is_within(&h, &d, PARIS, utc("2026-03-29T01:00:00Z")));
        assert!(!is_within(&h, &d, PARIS, utc("2026-03-29T00:59:59Z")));
        // New York, Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z.
        let open = next_open(&h, &d, NEW_YORK, utc("2026-03-08T05:00:00Z"));
        assert_eq!(open, Some(utc("2026-03-08T07:00:00Z")));
        // A window swallowed whole by the gap opens the next day instead.
        let swallowed = hours("02:10", "02:50");
        assert_eq!(
            next_open(&swallowed, &d, NEW_YORK, utc("2026-03-08T05:00:00Z")),
            Some(utc("2026-03-09T06:10:00Z"))
        );
    }

    #[test]
    fn ambiguous_start_takes_the_earlier_occurrence() {
        let d = WorkingDays::every_day();
        // Paris, Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00Z; 02:30 happens twice.
        let h = hours("02:30", "05:00");
        assert_eq!(
            next_open(&h, &d, PARIS, utc("2026-10-24T20:00:00Z")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        // New York, Sunday 2026-11-01: 02:00 EDT falls back to 01:00 EST at 06:00Z.
        let h = hours("01:30", "04:00");
        assert_eq!(
            next_open(&h, &d, NEW_YORK, utc("2026-11-01T00:00:00Z")),
            Some(utc("2026-11-01T05:30:00Z"))
        );
    }

    #[test]
    fn repeated_hour_reopens_a_window_that_ends_inside_it() {
        let d = WorkingDays::every_day();
        // Paris 01:00–02:30 on fall-back day: open 01:00–02:30 CEST (23:00Z–00:30Z), closed until the
        // clock falls back to 02:00 CET at 01:00Z, open again until 02:30 CET (01:30Z).
        let h = hours("01:00", "02:30");
        assert!(!is_within(&h, &d, PARIS, utc("2026-10-25T00:45:00Z")));
        assert_eq!(
            next_open(&h, &d, PARIS, utc("2026-10-25T00:45:00Z")),
            Some(utc("2026-10-25T01:00:00Z"))
        );
        assert!(is_within(&h, &d, PARIS, utc("2026-10-25T01:29:59Z")));
        assert_eq!(
            next_open(&h, &d, PARIS, utc("2026-10-25T01:30:00Z")),
            Some(utc("2026-10-26T00:00:00Z"))
        );
    }

    #[test]
    fn day_end_is_the_next_local_midnight() {
        // Paris spring-forward day lasts 23 hours, fall-back day 25.
        assert_eq!(
            day_end(PARIS, utc("2026-03-29T10:00:00Z")),
            Some(utc("2026-03-29T22:00:00Z"))
        );
        assert_eq!(
            day_end(PARIS, utc("2026-03-28T23:00:00Z")),
            Some(utc("2026-03-29T22:00:00Z"))
        );
        assert_eq!(
            day_end(PARIS, utc("2026-10-25T10:00:00Z")),
            Some(utc("2026-10-25T23:00:00Z"))
        );
        assert_eq!(
            day_end(KOLKATA, utc("2026-06-01T18:29:59Z")),
            Some(utc("2026-06-01T18:30:00Z"))
        );
        assert_eq!(
            day_end(NEW_YORK, utc("2026-11-01T12:00:00Z")),
            Some(utc("2026-11-02T05:00:00Z"))
        );
    }

    #[test]
    fn midnight_in_a_gap_starts_the_day_after_the_gap() {
        // America/Havana springs forward at 00:00 → 01:00 (Sunday 2026-03-08, 05:00Z).
        let havana: Tz = chrono_tz::America::Havana;
        assert_eq!(
            day_end(havana, utc("2026-03-08T04:00:00Z")),
            Some(utc("2026-03-08T05:00:00Z"))
        );
        assert_eq!(
            local_day(havana, utc("2026-03-08T05:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()
        );
    }

    mod props {
        use super::super::*;
        use crate::seed::splitmix64;
        use proptest::prelude::*;

        const ZONES: [Tz; 7] = [
            chrono_tz::Europe::Paris,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::America::Havana,
            chrono_tz::Africa::Cairo,
            chrono_tz::Asia::Kolkata,
            chrono_tz::Pacific::Chatham,
        ];
        /// 2026 DST changes of the zones above (UTC, to the hour), which `at` is drawn around.
        const CHANGES: [i64; 8] = [
            1_772_953_200, // 2026-03-08T07:00Z New York / Havana spring (Sunday)
            1_774_746_000, // 2026-03-29T01:00Z Paris spring (Sunday)
            1_775_314_800, // 2026-04-04T15:00Z Lord Howe / Chatham autumn (Sunday)
            1_776_981_600, // 2026-04-23T22:00Z Cairo spring (Friday 00:00)
            1_790_431_200, // 2026-09-26T14:00Z Chatham spring (Sunday)
            1_792_890_000, // 2026-10-25T01:00Z Paris autumn (Sunday)
            1_793_307_600, // 2026-10-29T21:00Z Cairo autumn (Thursday 24:00)
            1_793_512_800, // 2026-11-01T06:00Z New York / Havana autumn (Sunday)
        ];

        fn setup() -> impl Strategy<Value = (Tz, WorkingHours, WorkingDays, DateTime<Utc>, u64)> {
            let hours = prop_oneof![
                (0u32..24 * 60 - 1).prop_flat_map(|s| (Just(s), 1..=(24 * 60 - 1 - s))),
                (0u32..240).prop_flat_map(|s| (Just(s), 1u32..=180)),
            ]
            .prop_map(|(s, len)| {
                let t = |m: u32| NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap();
                WorkingHours::new(t(s), t(s + len)).unwrap()
            });
            let days = (1u8..128).prop_map(|mask| {
                WorkingDays::new(
                    (0..7u8)
                        .filter(|d| mask & (1 << d) != 0)
                        .map(|d| Weekday::try_from(d).unwrap()),
                )
                .unwrap()
            });
            let at = (
                0..CHANGES.len(),
                -4 * 86_400i64..4 * 86_400,
                0u32..1_000_000_000,
            )
                .prop_map(|(c, delta, nanos)| {
                    DateTime::from_timestamp(CHANGES[c] + delta, nanos).unwrap()
                });
            (0..ZONES.len(), hours, days, at, any::<u64>())
                .prop_map(|(z, h, d, at, salt)| (ZONES[z], h, d, at, salt))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

            /// `next_open` is inside the window and no earlier instant from `at` on is.
            #[test]
            fn next_open_is_the_earliest_open_instant((tz, h, d, at, salt) in setup()) {
                let open = next_open(&h, &d, tz, at).expect("real zones always reopen");
                prop_assert!(open >= at);
                prop_assert!(is_within(&h, &d, tz, open), "{open} is not open");
                if open > at {
                    prop_assert!(!is_within(&h, &d, tz, open - TimeDelta::nanoseconds(1)));
                    // Every minute of the first two days, then random ones, up to the opening.
                    let span = (open - at).num_minutes();
                    let mut r = salt;
                    let minutes = (0..span.min(2 * 24 * 60)).chain((0..64).map(|_| {
                        r = splitmix64(r);
                        (r % span.max(1) as u64) as i64
                    }));
                    for m in minutes {
                        let t = at + TimeDelta::minutes(m);
                        prop_assert!(t >= open || !is_within(&h, &d, tz, t), "{t} is open before {open}");
                    }
                }
            }

            /// `day_end` is the first instant of a later local date.
            #[test]
            fn day_end_starts_the_next_local_date((tz, _h, _d, at, _salt) in setup()) {
                let end = day_end(tz, at).expect("not the end of time");
                prop_assert!(end > at);
                prop_assert!(local_day(tz, end) > local_day(tz, at));
                prop_assert_eq!(local_day(tz, end - TimeDelta::nanoseconds(1)), local_day(tz, at));
            }
        }
    }
}
