//! Deterministic "randomness": every draw is a pure function of a seed and the names of what it is
//! for (entity id, step, purpose), so the order in which concurrent work runs cannot change a result.

/// Mixes a seed with any number of labels into a well-spread 64-bit value (FNV-1a then SplitMix64).
pub fn mix(seed: u64, labels: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for label in labels {
        for b in label.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator so that ["ab","c"] and ["a","bc"] differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix64(h)
}

/// One SplitMix64 step: a bijective finaliser with good avalanche.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` from a mixed value.
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A small deterministic generator for code that needs a stream of draws from one seed.
#[derive(Clone, Debug)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator for `labels` under `seed`; the same inputs always yield the same stream.
    pub fn new(seed: u64, labels: &[&str]) -> Self {
        Self {
            state: mix(seed, labels),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix64(self.state)
    }

    /// A uniform draw in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_unit() < p
    }

    /// A uniform integer in `[lo, hi)`; `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_deterministic_and_label_sensitive() {
        assert_eq!(mix(7, &["lead-1", "invite"]), mix(7, &["lead-1", "invite"]));
        assert_ne!(mix(7, &["lead-1", "invite"]), mix(8, &["lead-1", "invite"]));
        assert_ne!(mix(7, &["ab", "c"]), mix(7, &["a", "bc"]));
    }

    #[test]
    fn unit_draws_stay_in_range() {
        let mut rng = SeededRng::new(1, &["x"]);
        for _ in 0..10_000 {
            let u = rng.next_unit();
            assert!((0.0..1.0).contains(&u));
            let r = rng.range(5, 9);
            assert!((5..9).contains(&r));
        }
    }
}
