//! The sender's recent LinkedIn actions, counted exactly the way an auditor counts the log: per
//! local day for the daily limits, per rolling 7 × 24 hours for the weekly one.

use std::collections::VecDeque;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use super::window::local_day;
use crate::values::Action;

/// The rolling window of the weekly invite limit: 7 × 24 hours, not 7 local days.
pub const ROLLING_WEEK: TimeDelta = TimeDelta::days(7);
/// How long an action is kept: the rolling week plus a (long) local day for the daily counts.
pub const RETENTION: TimeDelta = TimeDelta::days(8);

/// How far any zone's local midnight can lie from the same wall time read as UTC (+14h/−12h),
/// plus room for a long DST day.
const DAY_MARGIN: TimeDelta = TimeDelta::hours(16);

/// Invites and messages of one sender over the last [`RETENTION`], oldest first.
///
/// Memory stays bounded because whatever is older than [`RETENTION`] before the latest action is
/// dropped on every record; within that span the log never drops anything (a dropped action would
/// be an under-count, i.e. a limit overrun).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionLog {
    invites: VecDeque<DateTime<Utc>>,
    messages: VecDeque<DateTime<Utc>>,
    latest: Option<DateTime<Utc>>,
}

impl ActionLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a LinkedIn action at `at`; email is not counted here and is ignored.
    ///
    /// Actions may arrive out of order (a rebuild from several leads' events); they are kept sorted.
    pub fn record(&mut self, action: Action, at: DateTime<Utc>) {
        let Some(list) = self.list_mut(action) else {
            return;
        };
        let pos = list.partition_point(|t| *t <= at);
        list.insert(pos, at);
        let latest = self.latest.map_or(at, |l| l.max(at));
        self.latest = Some(latest);
        if let Some(horizon) = latest.checked_sub_signed(RETENTION) {
            for list in [&mut self.invites, &mut self.messages] {
                let old = list.partition_point(|t| *t < horizon);
                list.drain(..old);
            }
        }
    }

    /// Forgets one action recorded at `at` (a slot granted but never used); the latest-instant
    /// mark stays, which can only make pacing more cautious.
    pub fn remove(&mut self, action: Action, at: DateTime<Utc>) {
        if let Some(list) = self.list_mut(action) {
            if let Some(pos) = list.iter().position(|t| *t == at) {
                list.remove(pos);
            }
        }
    }

    /// Invites whose local day (in `tz`) is `day`.
    pub fn invites_on(&self, day: NaiveDate, tz: Tz) -> u32 {
        count_on(&self.invites, day, tz)
    }

    /// Messages whose local day (in `tz`) is `day`.
    pub fn messages_on(&self, day: NaiveDate, tz: Tz) -> u32 {
        count_on(&self.messages, day, tz)
    }

    /// Actions of one kind on a local day; always 0 for email.
    pub fn count_on(&self, action: Action, day: NaiveDate, tz: Tz) -> u32 {
        self.list(action).map_or(0, |l| count_on(l, day, tz))
    }

    /// Invites in `(at − 7 × 24h, at]`.
    pub fn invites_in_rolling_week(&self, at: DateTime<Utc>) -> u32 {
        saturate(self.rolling_week(at).len())
    }

    /// The invites in `(at − 7 × 24h, at]`, oldest first: each leaves the window exactly 7 × 24h
    /// after it was sent, which is when the weekly limit frees a slot.
    pub fn rolling_week(&self, at: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let Some(from) = at.checked_sub_signed(ROLLING_WEEK) else {
            return self.invites.iter().copied().filter(|t| *t <= at).collect();
        };
        let lo = self.invites.partition_point(|t| *t <= from);
        let hi = self.invites.partition_point(|t| *t <= at);
        self.invites.range(lo..hi.max(lo)).copied().collect()
    }

    /// The latest action recorded, if any.
    pub fn latest(&self) -> Option<DateTime<Utc>> {
        self.latest
    }

    /// How many actions are held (for tests and memory checks).
    pub fn len(&self) -> usize {
        self.invites.len() + self.messages.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn list(&self, action: Action) -> Option<&VecDeque<DateTime<Utc>>> {
        match action {
            Action::Invite => Some(&self.invites),
            Action::Message => Some(&self.messages),
            Action::Email => None,
        }
    }

    fn list_mut(&mut self, action: Action) -> Option<&mut VecDeque<DateTime<Utc>>> {
        match action {
            Action::Invite => Some(&mut self.invites),
            Action::Message => Some(&mut self.messages),
            Action::Email => None,
        }
    }
}

/// Counts the instants of a sorted list whose local date is `day`, looking only at the span of
/// instants that can fall on that date in any zone.
fn count_on(list: &VecDeque<DateTime<Utc>>, day: NaiveDate, tz: Tz) -> u32 {
    let midnight = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let lo = midnight
        .checked_sub_signed(DAY_MARGIN)
        .map_or(0, |from| list.partition_point(|t| *t < from));
    let hi = midnight
        .checked_add_signed(TimeDelta::days(1) + DAY_MARGIN)
        .map_or(list.len(), |to| list.partition_point(|t| *t < to));
    saturate(
        list.range(lo..hi.max(lo))
            .filter(|t| local_day(tz, **t) == day)
            .count(),
    )
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_released_action_no_longer_counts() {
        let mut log = ActionLog::new();
        let at = utc("2026-03-02T10:00:00Z");
        log.record(Action::Invite, at);
        log.record(Action::Invite, at);
        log.remove(Action::Invite, at);
        assert_eq!(log.invites_in_rolling_week(at), 1);
        log.remove(Action::Message, at);
        assert_eq!(log.invites_in_rolling_week(at), 1);
    }

    #[test]
    fn counts_per_local_day_not_utc_day() {
        let tz = chrono_tz::America::New_York;
        let mut log = ActionLog::new();
        // 03:00Z on June 2nd is still June 1st (23:00 EDT) in New York.
        log.record(Action::Invite, utc("2026-06-02T03:00:00Z"));
        log.record(Action::Invite, utc("2026-06-02T04:00:00Z")); // 00:00 EDT June 2nd
        log.record(Action::Message, utc("2026-06-02T13:00:00Z"));
        log.record(Action::Email, utc("2026-06-02T13:00:00Z"));
        assert_eq!(log.invites_on(date(2026, 6, 1), tz), 1);
        assert_eq!(log.invites_on(date(2026, 6, 2), tz), 1);
        assert_eq!(log.messages_on(date(2026, 6, 2), tz), 1);
        assert_eq!(log.count_on(Action::Email, date(2026, 6, 2), tz), 0);
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn fall_back_day_has_25_hours_of_actions() {
        let tz = chrono_tz::Europe::Paris;
        let mut log = ActionLog::new();
        // Sunday 2026-10-25 in Paris runs from 22:00Z on the 24th to 23:00Z on the 25th.
        log.record(Action::Invite, utc("2026-10-24T22:00:00Z"));
        log.record(Action::Invite, utc("2026-10-25T22:59:59Z"));
        log.record(Action::Invite, utc("2026-10-25T23:00:00Z"));
        assert_eq!(log.invites_on(date(2026, 10, 25), tz), 2);
        assert_eq!(log.invites_on(date(2026, 10, 26), tz), 1);
        assert_eq!(log.invites_on(date(2026, 10, 24), tz), 0);
    }

    #[test]
    fn rolling_week_is_half_open_seven_times_24_hours() {
        let mut log = ActionLog::new();
        let t0 = utc("2026-03-02T10:00:00Z");
        log.record(Action::Invite, t0);
        log.record(Action::Invite, t0 + TimeDelta::hours(30));
        let week_later = t0 + ROLLING_WEEK;
        assert_eq!(
            log.invites_in_rolling_week(week_later - TimeDelta::seconds(1)),
            2
        );
        // At exactly t0 + 7×24h, t0 has left the window (t0 is not > at − 7 days).
        assert_eq!(log.invites_in_rolling_week(week_later), 1);
        assert_eq!(
            log.rolling_week(week_later),
            vec![t0 + TimeDelta::hours(30)]
        );
        // The window ends at `at`, inclusive.
        assert_eq!(log.invites_in_rolling_week(t0), 1);
        assert_eq!(log.invites_in_rolling_week(t0 - TimeDelta::seconds(1)), 0);
    }

    #[test]
    fn out_of_order_records_are_sorted_and_old_ones_pruned() {
        let mut log = ActionLog::new();
        let t0 = utc("2026-03-02T10:00:00Z");
        log.record(Action::Invite, t0 + TimeDelta::hours(2));
        log.record(Action::Invite, t0);
        assert_eq!(
            log.rolling_week(t0 + TimeDelta::hours(3)),
            vec![t0, t0 + TimeDelta::hours(2)]
        );
        log.record(
            Action::Message,
            t0 + TimeDelta::days(8) + TimeDelta::hours(1),
        );
        // t0 is more than 8 days before the latest action: gone; t0+2h is kept.
        assert_eq!(log.len(), 2);
        assert_eq!(
            log.latest(),
            Some(t0 + TimeDelta::days(8) + TimeDelta::hours(1))
        );
        // Something older than the retention is not even stored.
        log.record(Action::Invite, t0 - TimeDelta::days(3));
        assert_eq!(log.len(), 2);
    }

    #[test]
    fn memory_is_bounded_by_the_retention() {
        let mut log = ActionLog::new();
        let t0 = utc("2026-01-01T00:00:00Z");
        for i in 0..10_000 {
            log.record(Action::Invite, t0 + TimeDelta::minutes(10 * i));
        }
        // 8 days of one action every 10 minutes, and the boundary one.
        assert_eq!(log.len(), 8 * 24 * 6 + 1);
    }
}
