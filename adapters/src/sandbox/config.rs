//! The knobs of the simulated world; `Default` reproduces the rates of `linkedin-facts.md`.

use chrono::Duration;
use plera_domain::values::Tier;

use super::faults::FaultModel;

/// How the sandbox's LinkedIn and its leads behave. Every number is configurable because the facts
/// it comes from are ranges and estimates, and tests need to push rates to 0 or 1.
#[derive(Clone, Debug, PartialEq)]
pub struct SandboxConfig {
    /// The seed of every draw; the same seed and the same actions give the same world.
    pub seed: u64,
    /// Share of invites a lead accepts (facts: ~26–28 %).
    pub acceptance_rate: f64,
    /// Share of accepted invites with a note that the lead answers (facts: ~9 %).
    pub reply_rate_after_accept_with_note: f64,
    /// Share of accepted invites without a note that the lead answers (facts: ~5 %).
    pub reply_rate_after_accept_without_note: f64,
    /// Share of direct messages to a connection that get an answer (facts: ~10 %).
    pub dm_reply_rate: f64,
    /// Share of emails that get an answer.
    pub email_reply_rate: f64,
    /// Share of answers that are out-of-office auto-replies instead of real replies.
    pub out_of_office_rate: f64,
    /// When an acceptance happens: a cumulative curve (facts: 21 % < 1 h, 63 % < 1 day, …).
    pub acceptance_delay: DelayCurve,
    /// When a lead answers after the action that prompted it (hours to days).
    pub reply_delay: DelayCurve,
    /// Share of acceptance notifications the provider delivers late.
    pub late_notification_share: f64,
    /// The longest delay of a late acceptance notification (facts: up to 6–8 h).
    pub late_notification_max: Duration,
    /// Chance per account and (UTC) day that the session expires at some instant of that day.
    pub session_expiry_per_account_day: f64,
    /// LinkedIn's own hard caps per account tier.
    pub caps: ProviderCaps,
    /// How LinkedIn punishes an account that keeps pushing past its caps.
    pub restriction: RestrictionPolicy,
    /// How flaky the provider is: every fault of `faults` happens with a chance of
    /// `fault_rate × weight` (at 0.1: 5 % of send attempts answer `Transient` having done nothing,
    /// 5 % do the action and lose the answer, …, and about one notification in ten is repeated).
    /// Zero by default so that tests see LinkedIn's rules alone; simulations raise it.
    pub fault_rate: f64,
    /// The kinds of faults and their weights.
    pub faults: FaultModel,
}

impl SandboxConfig {
    /// The default world under another seed.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    /// The chance per account and day that a session expires, faults included.
    pub fn session_expiry_rate(&self) -> f64 {
        self.session_expiry_per_account_day + self.scaled(self.faults.session_expiry)
    }

    /// The chance per account and day of a restriction out of the blue.
    pub fn restriction_rate(&self) -> f64 {
        self.scaled(self.faults.restriction)
    }

    fn scaled(&self, weight: f64) -> f64 {
        (self.fault_rate.clamp(0.0, 1.0) * weight.max(0.0)).min(1.0)
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            acceptance_rate: 0.27,
            reply_rate_after_accept_with_note: 0.09,
            reply_rate_after_accept_without_note: 0.05,
            dm_reply_rate: 0.10,
            email_reply_rate: 0.06,
            out_of_office_rate: 0.03,
            acceptance_delay: DelayCurve::acceptance(),
            reply_delay: DelayCurve::reply(),
            late_notification_share: 0.25,
            late_notification_max: Duration::hours(8),
            session_expiry_per_account_day: 0.01,
            caps: ProviderCaps::default(),
            restriction: RestrictionPolicy::default(),
            fault_rate: 0.0,
            faults: FaultModel::default(),
        }
    }
}

/// One point of a cumulative delay curve: `share` of the draws fall within `within`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DelayKnot {
    /// Cumulative share, `0.0..=1.0`.
    pub share: f64,
    /// The delay that share stays under.
    pub within: Duration,
}

/// A delay distribution given by its cumulative knots; between two knots the delay grows
/// geometrically, which suits waits that span minutes to weeks.
#[derive(Clone, Debug, PartialEq)]
pub struct DelayCurve {
    /// Knots in increasing order of share and delay; the first should have share 0, the last 1.
    pub knots: Vec<DelayKnot>,
}

impl DelayCurve {
    /// Time to acceptance from `linkedin-facts.md`: 21 % < 1 h, 63 % < 1 day, 88 % < 1 week,
    /// 99 % < 30 days (the tail is closed at 45 days).
    pub fn acceptance() -> Self {
        Self::from_pairs(&[
            (0.0, Duration::minutes(1)),
            (0.21, Duration::hours(1)),
            (0.63, Duration::days(1)),
            (0.88, Duration::days(7)),
            (0.99, Duration::days(30)),
            (1.0, Duration::days(45)),
        ])
    }

    /// Time to an answer: a few minutes at best, a week at worst, half within half a day.
    pub fn reply() -> Self {
        Self::from_pairs(&[
            (0.0, Duration::minutes(10)),
            (0.3, Duration::hours(2)),
            (0.5, Duration::hours(12)),
            (0.85, Duration::days(2)),
            (1.0, Duration::days(7)),
        ])
    }

    fn from_pairs(pairs: &[(f64, Duration)]) -> Self {
        Self {
            knots: pairs
                .iter()
                .map(|&(share, within)| DelayKnot { share, within })
                .collect(),
        }
    }

    /// The delay at cumulative share `u` (a uniform draw in `[0, 1)`). Out-of-range draws and
    /// malformed curves are clamped rather than refused: a simulation knob must not panic.
    pub fn sample(&self, u: f64) -> Duration {
        let Some(first) = self.knots.first() else {
            return Duration::zero();
        };
        if u <= first.share {
            return first.within;
        }
        for pair in self.knots.windows(2) {
            let (lo, hi) = (pair[0], pair[1]);
            if u <= hi.share {
                let span = hi.share - lo.share;
                let f = if span > 0.0 {
                    (u - lo.share) / span
                } else {
                    1.0
                };
                return interpolate(lo.within, hi.within, f);
            }
        }
        self.knots.last().map_or(Duration::zero(), |k| k.within)
    }
}

/// Geometric interpolation between two positive delays (linear when one of them is zero).
fn interpolate(lo: Duration, hi: Duration, f: f64) -> Duration {
    let (a, b) = (lo.num_milliseconds() as f64, hi.num_milliseconds() as f64);
    let ms = if a > 0.0 && b > 0.0 {
        a * (b / a).powf(f)
    } else {
        a + (b - a) * f
    };
    Duration::milliseconds(ms.round() as i64)
}

/// LinkedIn's hard caps for one tier (what LinkedIn itself refuses, not what the engine plans).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierCaps {
    /// Invites per day of the account's time zone.
    pub daily_invites: u32,
    /// Invites per rolling 7 days.
    pub weekly_invites: u32,
    /// Direct messages per day of the account's time zone.
    pub daily_messages: u32,
}

/// The hard caps of every tier; Sales Navigator shares Premium's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProviderCaps {
    /// Free and basic accounts.
    pub free: TierCaps,
    /// Premium and Sales Navigator accounts.
    pub premium: TierCaps,
}

impl ProviderCaps {
    /// The caps that apply to `tier`.
    pub fn for_tier(&self, tier: Tier) -> TierCaps {
        match tier {
            Tier::Free => self.free,
            Tier::Premium | Tier::SalesNavigator => self.premium,
        }
    }
}

impl Default for ProviderCaps {
    /// The top of each published range: the engine plans below them, LinkedIn refuses above.
    fn default() -> Self {
        Self {
            free: TierCaps {
                daily_invites: 20,
                weekly_invites: 100,
                daily_messages: 150,
            },
            premium: TierCaps {
                daily_invites: 100,
                weekly_invites: 200,
                daily_messages: 150,
            },
        }
    }
}

/// When refusals turn into a restriction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestrictionPolicy {
    /// Over-cap refusals an account may collect within `window` before the next push over a cap
    /// restricts it.
    pub tolerated_refusals: u32,
    /// The window refusals are counted in.
    pub window: Duration,
    /// How long a restriction lasts (facts: typically about a week).
    pub duration: Duration,
}

impl Default for RestrictionPolicy {
    fn default() -> Self {
        Self {
            tolerated_refusals: 3,
            window: Duration::days(1),
            duration: Duration::days(7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptance_curve_passes_through_the_published_knots() {
        let curve = DelayCurve::acceptance();
        assert_eq!(curve.sample(0.21), Duration::hours(1));
        assert_eq!(curve.sample(0.63), Duration::days(1));
        assert_eq!(curve.sample(0.88), Duration::days(7));
        assert_eq!(curve.sample(0.99), Duration::days(30));
        let mid = curve.sample(0.42);
        assert!(Duration::hours(1) < mid && mid < Duration::days(1));
    }

    #[test]
    fn malformed_curves_clamp_instead_of_panicking() {
        let empty = DelayCurve { knots: vec![] };
        assert_eq!(empty.sample(0.5), Duration::zero());
        let flat = DelayCurve::from_pairs(&[(0.5, Duration::hours(3)), (0.5, Duration::hours(4))]);
        assert_eq!(flat.sample(0.1), Duration::hours(3));
        assert_eq!(flat.sample(0.9), Duration::hours(4));
    }
}
