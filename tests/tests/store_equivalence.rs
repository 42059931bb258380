//! The store changes nothing of what happens: the same seed gives the same log, event for event
//! and position for position, in memory, on SQLite and on PostgreSQL, crashes and rebuilds
//! included (DESIGN §5.8 and §7: same behaviour on every store).

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_actors::store::StoredEvent;
use plera_adapters::sandbox::LedgerEntry;
use plera_domain::values::Limits;
use plera_tests::{london_sender, mailbox, CrashPoint, CrashPoints, Harness, StoreKind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap()
}

/// Crashes at every `every`-th crash point: the same places on every store.
struct EveryNth {
    every: usize,
    seen: AtomicUsize,
}

impl CrashPoints for EveryNth {
    fn crash_here(&self, _point: CrashPoint) -> bool {
        self.seen.fetch_add(1, Ordering::Relaxed) % self.every == self.every - 1
    }
}

/// A week of two campaigns on one sender, crashing now and then; the log and the ledger.
async fn run(kind: StoreKind) -> (Vec<StoredEvent>, Vec<LedgerEntry>, usize) {
    let crash = Arc::new(EveryNth {
        every: 9,
        seen: AtomicUsize::new(0),
    });
    let mut h = Harness::new(29, monday(), kind, Some(crash)).await;
    let sender = h
        .connect(
            "li-1",
            london_sender(Limits {
                daily_invites: 14,
                daily_messages: 25,
                weekly_invites: 70,
            }),
        )
        .await;
    mailbox(&h).await;
    for name in ["north", "south"] {
        let c = h.campaign(name, vec![sender.clone()]).await;
        h.enroll(&c, name, 40).await;
    }
    h.run_until(monday() + Duration::days(10)).await;
    let outcome = (h.events().await, h.ledger(), h.restarts);
    h.finish().await;
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_writes_the_same_log_on_every_store() {
    let (memory, memory_ledger, memory_restarts) = run(StoreKind::Memory).await;
    assert!(memory_restarts >= 3, "only {memory_restarts} crashes");
    assert!(memory.iter().any(|e| e.event_type == "StepOutcomeUnknown"));
    for kind in [StoreKind::Sqlite, StoreKind::Postgres] {
        let (events, ledger, restarts) = run(kind).await;
        assert_eq!(restarts, memory_restarts, "{kind:?}");
        assert_eq!(events.len(), memory.len(), "{kind:?}");
        // Event by event, so that a difference shows where the runs part.
        for (stored, reference) in events.iter().zip(&memory) {
            assert_eq!(stored, reference, "{kind:?}");
        }
        assert_eq!(ledger, memory_ledger, "{kind:?}");
    }
}
