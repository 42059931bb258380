//! The minimum gap between two LinkedIn actions of one sender: a floor plus seeded jitter, so the
//! account never acts in bursts nor at a machine-regular rhythm.
//!
//! The jitter is a pure function of (seed, account key, action number), never of a global RNG, so
//! a replay or a re-spawned actor draws exactly the same gaps.

use chrono::TimeDelta;

use crate::seed::mix;

/// Default floor between two LinkedIn actions.
pub const MIN_GAP: TimeDelta = TimeDelta::seconds(90);
/// Default exclusive upper bound of the jitter added to [`MIN_GAP`].
pub const MAX_JITTER: TimeDelta = TimeDelta::minutes(4);

/// The gap required after the `n`-th LinkedIn action of the sender keyed `key`:
/// `min_gap` plus a jitter in `[0, max_jitter)`, at millisecond resolution.
///
/// Negative settings are read as zero: a gap can only delay, never allow an earlier action.
pub fn gap(min_gap: TimeDelta, max_jitter: TimeDelta, seed: u64, key: &str, n: u64) -> TimeDelta {
    let floor = min_gap.max(TimeDelta::zero());
    let span = u64::try_from(max_jitter.num_milliseconds()).unwrap_or(0);
    if span == 0 {
        return floor;
    }
    let jitter = mix(seed, &[key, &n.to_string()]) % span;
    // `jitter < span <= i64::MAX`, so the conversion cannot fail.
    let jitter = TimeDelta::milliseconds(i64::try_from(jitter).unwrap_or(0));
    floor.checked_add(&jitter).unwrap_or(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_is_deterministic_and_within_bounds() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..2_000 {
            let g = gap(MIN_GAP, MAX_JITTER, 42, "acct-1", n);
            assert_eq!(g, gap(MIN_GAP, MAX_JITTER, 42, "acct-1", n));
            assert!(g >= MIN_GAP && g < MIN_GAP + MAX_JITTER, "{g}");
            seen.insert(g);
        }
        // Jitter actually varies: not a constant rhythm.
        assert!(seen.len() > 1_900);
    }

    #[test]
    fn gap_depends_on_seed_key_and_number() {
        let g = |seed, key, n| gap(MIN_GAP, MAX_JITTER, seed, key, n);
        assert_ne!(g(1, "a", 1), g(2, "a", 1));
        assert_ne!(g(1, "a", 1), g(1, "b", 1));
        assert_ne!(g(1, "a", 1), g(1, "a", 2));
    }

    #[test]
    fn jitter_spreads_over_the_whole_range() {
        let draws: Vec<TimeDelta> = (0..1_000)
            .map(|n| gap(TimeDelta::zero(), MAX_JITTER, 7, "acct", n))
            .collect();
        let low = draws.iter().filter(|d| **d < MAX_JITTER / 4).count();
        let high = draws.iter().filter(|d| **d >= MAX_JITTER * 3 / 4).count();
        // Each quarter holds about 250 of 1000 uniform draws.
        assert!((180..320).contains(&low), "{low}");
        assert!((180..320).contains(&high), "{high}");
    }

    #[test]
    fn no_jitter_and_negative_settings() {
        assert_eq!(gap(MIN_GAP, TimeDelta::zero(), 1, "a", 1), MIN_GAP);
        assert_eq!(
            gap(TimeDelta::seconds(-5), TimeDelta::seconds(-5), 1, "a", 1),
            TimeDelta::zero()
        );
    }
}
