//! A sender's LinkedIn session: it expires at instants drawn per account and day, and stays
//! expired until the user reconnects. Expiries are materialised lazily, in time order, whenever
//! the world is looked at up to some instant.

use chrono::{DateTime, Utc};
use plera_domain::ids::AccountId;

use super::behaviour::session_expiry_on;
use super::lookahead::Lookahead;

/// How far ahead `next_expiry` looks; a quiet account's next expiry may be further away.
const HORIZON_DAYS: u32 = 366;

/// A period during which expiries do not happen (a restricted account has no live session to lose).
pub(crate) type Blackout = Option<(DateTime<Utc>, DateTime<Utc>)>;

/// The draws that decide expiries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExpiryDraws<'a> {
    /// The world's seed.
    pub seed: u64,
    /// Chance per account and day.
    pub rate: f64,
    /// The account.
    pub account: &'a AccountId,
}

/// The session of one account.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    expired_at: Option<DateTime<Utc>>,
    /// Expiries up to this instant have been decided.
    checked_through: DateTime<Utc>,
    /// What `next_expiry` scanned, and for which blackout (a new blackout starts afresh).
    lookahead: Option<(Blackout, Lookahead)>,
}

impl Session {
    /// A live session connected at `since`: no expiry before it.
    pub fn new(since: DateTime<Utc>) -> Self {
        Self {
            expired_at: None,
            checked_through: since,
            lookahead: None,
        }
    }

    /// Whether the session is expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expired_at.is_some_and(|at| at <= now)
    }

    /// Decides the expiries due up to `up_to`; returns the instant of the one that happened.
    pub fn advance(
        &mut self,
        draws: ExpiryDraws<'_>,
        blackout: Blackout,
        up_to: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if up_to <= self.checked_through {
            return None;
        }
        let after = self.checked_through;
        self.checked_through = up_to;
        if self.expired_at.is_some() {
            return None;
        }
        let found = first_expiry(draws, blackout, after, up_to);
        self.expired_at = found;
        found
    }

    /// The next expiry not yet decided (within a year), for the world's "next notification".
    pub fn next_expiry(
        &mut self,
        draws: ExpiryDraws<'_>,
        blackout: Blackout,
    ) -> Option<DateTime<Utc>> {
        if self.expired_at.is_some() {
            return None;
        }
        let mut cache = match self.lookahead {
            Some((b, cache)) if b == blackout => Some(cache),
            _ => None,
        };
        let next = Lookahead::first_after(
            &mut cache,
            self.checked_through,
            chrono::Duration::days(i64::from(HORIZON_DAYS)),
            |after, until| first_expiry(draws, blackout, after, until),
        );
        self.lookahead = cache.map(|c| (blackout, c));
        next
    }

    /// Restores an expired session at `now`; false when there was nothing to restore.
    pub fn reconnect(&mut self, now: DateTime<Utc>) -> bool {
        if !self.is_expired(now) {
            return false;
        }
        self.expired_at = None;
        self.checked_through = self.checked_through.max(now);
        true
    }
}

/// The first drawn expiry in `(after, until]` outside the blackout.
fn first_expiry(
    draws: ExpiryDraws<'_>,
    blackout: Blackout,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if draws.rate <= 0.0 {
        return None;
    }
    let mut day = after.date_naive();
    while day <= until.date_naive() {
        if let Some(at) = session_expiry_on(draws.seed, draws.rate, draws.account, day) {
            let blocked = blackout.is_some_and(|(from, to)| from <= at && at < to);
            if at > after && at <= until && !blocked {
                return Some(at);
            }
        }
        day = day.succ_opt()?;
    }
    None
}
