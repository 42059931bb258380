//! Crashes at instants drawn from the seed: the engine is dropped mid-tick (after its
//! `StepStarted` commit, or after the gateway calls whose outcomes are not yet recorded) and must
//! be rebuilt from the log without sending anything twice.

use chrono::{DateTime, Duration, Utc};
use plera_actors::driver::{CrashPoint, CrashPoints};
use plera_domain::ports::Clock;
use plera_domain::seed::SeededRng;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Fires each planned crash at the first crash point of its kind reached at or after its instant.
/// The plan depends on the seed alone and the engine reaches its crash points in a fixed order, so
/// a run with crashes is as reproducible as one without.
pub struct SeededCrashes {
    clock: Arc<dyn Clock>,
    plan: Mutex<VecDeque<(DateTime<Utc>, CrashPoint)>>,
}

impl SeededCrashes {
    /// `count` crashes spread over the first four fifths of `[start, end)` (so that the run goes
    /// on long enough after the last one to show its recovery).
    pub fn new(
        seed: u64,
        count: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut rng = SeededRng::new(seed, &["crashes"]);
        let span = ((end - start).num_seconds().max(1) * 4 / 5).max(1) as u64;
        let mut plan: Vec<(DateTime<Utc>, CrashPoint)> = (0..count)
            .map(|_| {
                let at = start + Duration::seconds(rng.range(0, span) as i64);
                let point = if rng.chance(0.5) {
                    CrashPoint::AfterStepStarted
                } else {
                    CrashPoint::AfterGatewayCall
                };
                (at, point)
            })
            .collect();
        plan.sort_by_key(|(at, _)| *at);
        Self {
            clock,
            plan: Mutex::new(plan.into()),
        }
    }

    /// Crashes planned and not yet fired.
    pub fn pending(&self) -> usize {
        self.plan.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl CrashPoints for SeededCrashes {
    fn crash_here(&self, point: CrashPoint) -> bool {
        let mut plan = self.plan.lock().unwrap_or_else(|e| e.into_inner());
        match plan.front() {
            Some((at, kind)) if *kind == point && *at <= self.clock.now() => {
                plan.pop_front();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use plera_actors::VirtualClock;

    #[test]
    fn crashes_fire_once_each_in_order_and_only_when_due() {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let end = start + Duration::days(10);
        let clock = Arc::new(VirtualClock::new(start));
        let crashes = SeededCrashes::new(3, 4, start, end, clock.clone());
        assert_eq!(crashes.pending(), 4);
        let first = crashes.plan.lock().unwrap()[0];
        if first.0 > start {
            assert!(!crashes.crash_here(CrashPoint::AfterStepStarted));
            assert!(!crashes.crash_here(CrashPoint::AfterGatewayCall));
        }
        clock.advance_to(end);
        let mut fired = 0;
        for _ in 0..10 {
            for point in [CrashPoint::AfterStepStarted, CrashPoint::AfterGatewayCall] {
                if crashes.crash_here(point) {
                    fired += 1;
                }
            }
        }
        assert_eq!(fired, 4);
        assert_eq!(crashes.pending(), 0);
        let again = SeededCrashes::new(3, 4, start, end, clock);
        assert_eq!(again.plan.lock().unwrap()[0], first);
    }
}
