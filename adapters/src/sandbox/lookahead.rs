//! "The next drawn instant within a year" for a point that keeps moving forward: the world is
//! asked after every step of a simulation, and scanning a year of daily draws each time (a quiet
//! account has no incident for months) was most of the simulation's own work. What was scanned
//! is remembered, so a look costs the days the horizon moved by.

use chrono::{DateTime, Duration, Utc};

/// The first drawn instant of `(from, until]`, once scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lookahead {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
}

impl Lookahead {
    /// The first instant `first(after, until)` finds in `(now, now + horizon]`, where
    /// `first` scans draws that do not depend on when they are asked for. `cache` is updated.
    pub(crate) fn first_after(
        cache: &mut Option<Lookahead>,
        now: DateTime<Utc>,
        horizon: Duration,
        first: impl Fn(DateTime<Utc>, DateTime<Utc>) -> Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let until = now + horizon;
        if let Some(c) = cache.as_mut() {
            if c.from <= now && c.until <= until {
                match c.next {
                    // The first after `c.from` is still ahead: nothing lies between.
                    Some(t) if t > now => return Some(t),
                    // Nothing up to `c.until`: only the days since then are new.
                    None => {
                        let next = first(c.until, until);
                        *c = Lookahead {
                            from: c.from,
                            until,
                            next,
                        };
                        return next;
                    }
                    Some(_) => {}
                }
            }
        }
        let next = first(now, until);
        *cache = Some(Lookahead {
            from: now,
            until,
            next,
        });
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn remembered_answers_equal_fresh_scans_and_cost_only_the_new_days() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let incidents = [t0 + Duration::days(40), t0 + Duration::days(500)];
        // Draws at fixed instants; counts the days scanned.
        let scanned = std::cell::Cell::new(0);
        let first = |after: DateTime<Utc>, until: DateTime<Utc>| {
            scanned.set(scanned.get() + (until - after).num_days());
            incidents
                .iter()
                .copied()
                .filter(|t| *t > after && *t <= until)
                .min()
        };
        let horizon = Duration::days(366);
        let mut cache = None;
        for hours in (0..24 * 900).step_by(7) {
            let now = t0 + Duration::hours(hours);
            let fresh = incidents
                .iter()
                .copied()
                .filter(|t| *t > now && *t <= now + horizon)
                .min();
            assert_eq!(
                Lookahead::first_after(&mut cache, now, horizon, first),
                fresh,
                "at {now}"
            );
        }
        // About 900 days plus a few full rescans (after each incident passed), not 3,000 years.
        assert!(
            scanned.get() < 900 + 4 * 366,
            "{} days scanned",
            scanned.get()
        );
    }
}
