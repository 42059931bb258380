//! The runtime against the sandbox world on a virtual clock (issue: runtime "done when"), on
//! every event store: in memory, SQLite and PostgreSQL run the same tests.

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_domain::values::{Action, Limits, Tier};
use plera_tests::{
    gap_violations, log_violations, london_sender, mailbox, on_every_store, sent_vs_ledger,
    CrashPoint, CrashPoints, Harness, StoreKind,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap()
}

on_every_store!(
    three_campaigns_share_one_sender_within_its_limits_and_fairly,
    linkedin_limit_warnings_pause_the_sender_and_the_cooldown_resumes_it,
    killing_and_rebuilding_the_engine_mid_run_sends_nothing_twice,
);

async fn three_campaigns_share_one_sender_within_its_limits_and_fairly(kind: StoreKind) {
    let mut h = Harness::new(11, monday(), kind, None).await;
    let limits = Limits {
        daily_invites: 12,
        daily_messages: 20,
        weekly_invites: 50,
    };
    let sender = h.connect("li-1", london_sender(limits)).await;
    mailbox(&h).await;
    let mut campaigns = Vec::new();
    for (i, name) in ["alpha", "beta", "gamma"].iter().enumerate() {
        // Every campaign has more leads than the sender can invite in 30 days, so a fair
        // share is an equal share.
        let c = h.campaign(name, vec![sender.clone()]).await;
        h.enroll(&c, name, 100 + i * 10).await;
        campaigns.push(c);
    }
    h.run_until(monday() + Duration::days(30)).await;

    let events = h.events().await;
    assert_eq!(h.ledger_violations(), Vec::<String>::new());
    assert_eq!(log_violations(&events), Vec::<String>::new());
    assert_eq!(gap_violations(&events), Vec::<String>::new());
    let ledger = h.ledger();
    assert_eq!(sent_vs_ledger(&events, &ledger), Vec::<String>::new());
    let invites: Vec<_> = ledger
        .iter()
        .filter(|e| e.action == Action::Invite)
        .collect();
    // The weekly limit binds over 30 days: about 50 a week, never more.
    assert!(invites.len() >= 150, "only {} invites", invites.len());
    // Fairness is per slot: every LinkedIn action a campaign got, invites and messages alike.
    let mut per_campaign: HashMap<String, usize> = HashMap::new();
    for e in ledger.iter().filter(|e| e.action != Action::Email) {
        let campaign = e.key.split('/').nth(1).unwrap_or_default().to_string();
        *per_campaign.entry(campaign).or_default() += 1;
    }
    let counts: Vec<usize> = per_campaign.values().copied().collect();
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert_eq!(counts.len(), 3, "{per_campaign:?}");
    // Round-robin: no campaign gets more than one slot a round beyond another.
    assert!(max - min <= 3, "unfair split {per_campaign:?}");
    assert!(ledger.iter().any(|e| e.action == Action::Message));
    assert!(ledger.iter().any(|e| e.action == Action::Email));
    h.finish().await;
}

async fn linkedin_limit_warnings_pause_the_sender_and_the_cooldown_resumes_it(kind: StoreKind) {
    let mut h = Harness::new(5, monday(), kind, None).await;
    // Our limit is above what LinkedIn lets a free account do (20 a day).
    let mut settings = london_sender(Limits {
        daily_invites: 60,
        daily_messages: 100,
        weekly_invites: 300,
    });
    settings.tier = Tier::Free;
    let sender = h.connect("li-free", settings).await;
    mailbox(&h).await;
    let c = h.campaign("push", vec![sender.clone()]).await;
    h.enroll(&c, "p", 120).await;
    h.run_until(monday() + Duration::days(3)).await;

    let types: Vec<String> = h
        .events()
        .await
        .into_iter()
        .filter(|e| e.aggregate_id == sender.as_str())
        .map(|e| e.event_type)
        .collect();
    assert!(types.contains(&"WarningReceived".to_string()), "{types:?}");
    assert!(types.contains(&"SendingPaused".to_string()), "{types:?}");
    assert!(types.contains(&"SendingResumed".to_string()), "{types:?}");
    // Nothing reached LinkedIn while paused: the ledger never exceeds LinkedIn's own cap.
    let per_day = h
        .ledger()
        .iter()
        .filter(|e| e.action == Action::Invite)
        .fold(HashMap::new(), |mut m, e| {
            *m.entry(e.at.date_naive()).or_insert(0) += 1;
            m
        });
    assert!(per_day.values().all(|n| *n <= 20), "{per_day:?}");
    h.finish().await;
}

/// Crashes after every `every`-th crash point reached.
struct EveryNth {
    every: usize,
    seen: AtomicUsize,
}

impl CrashPoints for EveryNth {
    fn crash_here(&self, _point: CrashPoint) -> bool {
        self.seen.fetch_add(1, Ordering::Relaxed) % self.every == self.every - 1
    }
}

async fn killing_and_rebuilding_the_engine_mid_run_sends_nothing_twice(kind: StoreKind) {
    let crash = Arc::new(EveryNth {
        every: 7,
        seen: AtomicUsize::new(0),
    });
    let mut h = Harness::new(3, monday(), kind, Some(crash)).await;
    let sender = h
        .connect(
            "li-1",
            london_sender(Limits {
                daily_invites: 15,
                daily_messages: 30,
                weekly_invites: 80,
            }),
        )
        .await;
    mailbox(&h).await;
    let c = h.campaign("crashy", vec![sender]).await;
    h.enroll(&c, "k", 80).await;
    h.run_until(monday() + Duration::days(14)).await;

    assert!(h.restarts >= 5, "only {} restarts", h.restarts);
    assert_eq!(h.ledger_violations(), Vec::<String>::new());
    let all = h.events().await;
    assert_eq!(log_violations(&all), Vec::<String>::new());
    // Every action the sandbox really performed is on record exactly once in the log.
    assert_eq!(sent_vs_ledger(&all, &h.ledger()), Vec::<String>::new());
    assert_eq!(gap_violations(&all), Vec::<String>::new());
    assert!(all.iter().any(|e| e.event_type == "StepOutcomeUnknown"));
    h.finish().await;
}
