//! LinkedIn restricting an account out of the blue (a fault of a flaky world, unlike the
//! restriction that follows pushing past the caps): instants drawn per account and day, decided
//! lazily and in time order whenever the world is looked at up to some instant.

use chrono::{DateTime, Duration, Utc};
use plera_domain::ids::AccountId;

use super::behaviour::{incident_on, Incident};
use super::lookahead::Lookahead;

/// How far ahead `next` looks.
const HORIZON_DAYS: i64 = 366;

/// The draws that decide restrictions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlagDraws<'a> {
    /// The world's seed.
    pub seed: u64,
    /// Chance per account and day.
    pub rate: f64,
    /// The account.
    pub account: &'a AccountId,
}

/// The restrictions of one account decided so far.
#[derive(Clone, Debug)]
pub(crate) struct Flags {
    checked_through: DateTime<Utc>,
    lookahead: Option<Lookahead>,
}

impl Flags {
    /// Nothing decided before `since` (the account's connection).
    pub fn new(since: DateTime<Utc>) -> Self {
        Self {
            checked_through: since,
            lookahead: None,
        }
    }

    /// The drawn instants in `(checked_through, up_to]`, in order; they count as decided.
    pub fn advance(&mut self, draws: FlagDraws<'_>, up_to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        if up_to <= self.checked_through {
            return Vec::new();
        }
        let found = drawn(draws, self.checked_through, up_to);
        self.checked_through = up_to;
        found
    }

    /// The next drawn instant not yet decided (within a year).
    pub fn next(&mut self, draws: FlagDraws<'_>) -> Option<DateTime<Utc>> {
        Lookahead::first_after(
            &mut self.lookahead,
            self.checked_through,
            Duration::days(HORIZON_DAYS),
            |after, until| first_drawn(draws, after, until),
        )
    }
}

/// Every drawn instant in `(after, until]`.
fn drawn(draws: FlagDraws<'_>, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut found = Vec::new();
    let mut from = after;
    while let Some(at) = first_drawn(draws, from, until) {
        found.push(at);
        from = at;
    }
    found
}

/// The first drawn instant in `(after, until]`.
fn first_drawn(
    draws: FlagDraws<'_>,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if draws.rate <= 0.0 {
        return None;
    }
    let mut day = after.date_naive();
    while day <= until.date_naive() {
        if let Some(at) = incident_on(
            draws.seed,
            draws.rate,
            draws.account,
            day,
            Incident::Restriction,
        ) {
            if at > after && at <= until {
                return Some(at);
            }
        }
        day = day.succ_opt()?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_are_the_same_however_the_time_is_cut() {
        let account = AccountId::new("acc-1");
        let draws = FlagDraws {
            seed: 5,
            rate: 0.05,
            account: &account,
        };
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let mut whole = Flags::new(start);
        let all = whole.advance(draws, start + Duration::days(200));
        assert!(all.len() > 3, "{all:?}");
        let mut sliced = Flags::new(start);
        let mut pieces = Vec::new();
        for hours in (7..=4_800).step_by(7) {
            let next = sliced.next(draws);
            let got = sliced.advance(draws, start + Duration::hours(hours));
            if let Some(first) = got.first() {
                assert_eq!(Some(*first), next, "next() announces the next one");
            }
            pieces.extend(got);
        }
        pieces.extend(sliced.advance(draws, start + Duration::days(200)));
        assert_eq!(pieces, all);
    }
}
