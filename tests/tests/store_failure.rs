//! A store that fails now and then loses nothing: a failed tick puts its work back, a failed
//! outcome append is reconciled, and every lead still gets its invite exactly once.

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use plera_actors::store::{EventLog, MemoryEventLog, StoreError};
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadDirectory, LeadProfile, LeadSpec, MemoryLeadDirectory,
    SequentialIds, VirtualClock,
};
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_domain::ids::{LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::play::{Condition, Delay, Play, PlayStep};
use plera_domain::ports::Clock;
use plera_domain::values::{Action, ConnectionDegree, Limits};
use plera_tests::{london_sender, FaultyLog};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Fails every `every`-th read of a profile, as a directory on a flaky network would.
struct FlakyDirectory {
    inner: MemoryLeadDirectory,
    every: u64,
    reads: AtomicU64,
}

#[async_trait]
impl LeadDirectory for FlakyDirectory {
    async fn put(&self, ws: &WorkspaceId, lead: &LeadId, p: LeadProfile) -> Result<(), String> {
        self.inner.put(ws, lead, p).await
    }
    async fn get(&self, ws: &WorkspaceId, lead: &LeadId) -> Result<Option<LeadProfile>, String> {
        let n = self.reads.fetch_add(1, Ordering::Relaxed) + 1;
        if n % self.every == 0 {
            return Err("directory unreachable".into());
        }
        self.inner.get(ws, lead).await
    }
}

#[tokio::test]
async fn failed_appends_and_reads_lose_no_lead_and_send_nothing_twice() {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
    let clock = Arc::new(VirtualClock::new(start));
    let world = SandboxWorld::new(SandboxConfig::seeded(9), clock.clone());
    // Every 7th append fails, as a database that drops a transaction would.
    let memory = Arc::new(MemoryEventLog::new());
    let failed = Arc::new(AtomicU64::new(0));
    let counted = failed.clone();
    let appends = AtomicU64::new(0);
    let log = Arc::new(FaultyLog::new(memory.clone(), move |_| {
        let n = appends.fetch_add(1, Ordering::Relaxed) + 1;
        (n % 7 == 0).then(|| {
            counted.fetch_add(1, Ordering::Relaxed);
            StoreError::Backend("injected failure".into())
        })
    }));
    let engine = Engine::builder()
        .event_log(log.clone())
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .lead_directory(Arc::new(FlakyDirectory {
            inner: MemoryLeadDirectory::default(),
            every: 5,
            reads: AtomicU64::new(0),
        }))
        .build()
        .await
        .unwrap();
    let ws = WorkspaceId::new("ws");
    // Set-up commands may hit an injected failure too: a typed error, then a retry works.
    let mut retry = 0;
    let link = loop {
        match engine.start_connection(&ws, &OwnerId::new("o"), None).await {
            Ok(link) => break link,
            Err(e) => {
                assert!(matches!(e, plera_actors::EngineError::Store(_)), "{e}");
                retry += 1;
                assert!(retry < 3);
            }
        }
    };
    let settings = london_sender(Limits {
        daily_invites: 10,
        daily_messages: 10,
        weekly_invites: 50,
    });
    let account = loop {
        match engine
            .complete_connection(&link.state, &ProviderAccountId::new("p"), settings.clone())
            .await
        {
            Ok(a) => break a,
            Err(e) => assert!(matches!(e, plera_actors::EngineError::Store(_)), "{e}"),
        }
    };
    world.add_account_in(
        account.clone(),
        ProviderAccountId::new("p"),
        settings.tier,
        settings.timezone,
    );
    let play = Play {
        name: "invite".into(),
        description: String::new(),
        steps: vec![PlayStep {
            action: Action::Invite,
            template: None,
            subject: None,
            delay: Delay::minutes(0),
            condition: Condition::Always,
        }],
    };
    let campaign = loop {
        let spec = CampaignSpec {
            id: Some("c".into()),
            name: "c".into(),
            play: play.clone(),
            senders: vec![account.clone()],
            mailbox: None,
        };
        if let Ok(c) = engine.create_campaign(&ws, spec).await {
            break c;
        }
    };
    let leads: Vec<LeadSpec> = (0..30)
        .map(|i| {
            let lead = LeadId::new(format!("l{i}"));
            world.add_lead(lead.clone(), SandboxLead::default());
            LeadSpec {
                lead_id: lead,
                profile: LeadProfile::new("A", "B", "C"),
                connection_degree: ConnectionDegree::Second,
                sender: None,
            }
        })
        .collect();
    while engine
        .enroll_many(&ws, &campaign, leads.clone(), EnrollOptions::default())
        .await
        .is_err()
    {}

    let end = start + Duration::days(10);
    let mut failures = 0;
    for _ in 0..100_000 {
        for event in world.take_notifications(clock.now()) {
            let _ = engine.ingest(&ws, event).await;
        }
        if engine.tick().await.is_err() {
            failures += 1;
        }
        let next = [
            engine.next_due().await.unwrap(),
            world.next_notification_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) if t <= end => clock.advance_to(t.max(clock.now())),
            _ => break,
        }
    }
    assert!(failures > 0, "no tick met a failure");
    assert!(failed.load(Ordering::Relaxed) > 3);

    // Every lead was invited exactly once, and the log agrees with the provider.
    let ledger = world.ledger();
    let mut per_lead: HashMap<String, usize> = HashMap::new();
    for e in ledger.iter().filter(|e| e.action == Action::Invite) {
        *per_lead.entry(e.lead_id.to_string()).or_default() += 1;
    }
    assert_eq!(per_lead.len(), 30, "leads invited: {}", per_lead.len());
    assert!(per_lead.values().all(|n| *n == 1), "{per_lead:?}");
    let events = memory.read_after(0, usize::MAX).await.unwrap();
    let sent = events
        .iter()
        .filter(|e| e.event_type == "InviteSent")
        .count();
    assert_eq!(sent, 30);
    engine.shutdown().await;
}
