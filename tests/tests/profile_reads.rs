//! A tick reads the profiles of the steps it starts in one `LeadDirectory::get_many` per
//! workspace, not one `get` per step: LinkedIn steps from the heads of the offered senders'
//! lines, email steps from the leads due with one.

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use plera_actors::store::{EventLog, MemoryEventLog};
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadDirectory, LeadProfile, LeadSpec, MemoryLeadDirectory,
    SequentialIds, VirtualClock,
};
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_domain::ids::{AccountId, CampaignId, LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::play::{Condition, Delay, Play, PlayStep};
use plera_domain::ports::Clock;
use plera_domain::values::{Action, ConnectionDegree, Limits};
use plera_tests::london_sender;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts the directory's reads: single ones, batched ones and the leads these asked for.
#[derive(Default)]
struct CountingDirectory {
    inner: MemoryLeadDirectory,
    gets: AtomicU64,
    batches: AtomicU64,
    asked: AtomicU64,
}

#[async_trait]
impl LeadDirectory for CountingDirectory {
    async fn put(&self, ws: &WorkspaceId, lead: &LeadId, p: LeadProfile) -> Result<(), String> {
        self.inner.put(ws, lead, p).await
    }

    async fn get(&self, ws: &WorkspaceId, lead: &LeadId) -> Result<Option<LeadProfile>, String> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        self.inner.get(ws, lead).await
    }

    async fn get_many(
        &self,
        ws: &WorkspaceId,
        leads: &[LeadId],
    ) -> Result<HashMap<LeadId, LeadProfile>, String> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.asked.fetch_add(leads.len() as u64, Ordering::Relaxed);
        self.inner.get_many(ws, leads).await
    }
}

fn one_step(action: Action, template: &str, subject: Option<&str>) -> Play {
    Play {
        name: format!("{action}"),
        description: String::new(),
        steps: vec![PlayStep {
            action,
            template: Some(template.into()),
            subject: subject.map(str::to_string),
            delay: Delay::minutes(0),
            condition: Condition::Always,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_reads_its_profiles_in_one_call() {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
    let clock = Arc::new(VirtualClock::new(start));
    let world = SandboxWorld::new(SandboxConfig::seeded(3), clock.clone());
    let log = Arc::new(MemoryEventLog::new());
    let directory = Arc::new(CountingDirectory::default());
    let engine = Engine::builder()
        .event_log(log.clone())
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .lead_directory(directory.clone())
        .build()
        .await
        .unwrap();
    let ws = WorkspaceId::new("ws");
    engine
        .register_mailbox(&ws, &"mb".into(), "sales@acme.io")
        .await
        .unwrap();
    let limits = Limits {
        daily_invites: 40,
        daily_messages: 40,
        weekly_invites: 200,
    };
    let mut senders: Vec<AccountId> = Vec::new();
    for i in 0..3 {
        let link = engine
            .start_connection(&ws, &OwnerId::new("o"), None)
            .await
            .unwrap();
        let provider = ProviderAccountId::new(format!("p{i}"));
        let settings = london_sender(limits);
        let account = engine
            .complete_connection(&link.state, &provider, settings.clone())
            .await
            .unwrap();
        world.add_account_in(account.clone(), provider, settings.tier, settings.timezone);
        senders.push(account);
    }
    let campaign = |id: &str, play: Play| CampaignSpec {
        id: Some(id.into()),
        name: id.into(),
        play,
        senders: senders.clone(),
        mailbox: Some("mb".into()),
    };
    let invites = engine
        .create_campaign(
            &ws,
            campaign(
                "invites",
                one_step(Action::Invite, "Hi {{first_name}}", None),
            ),
        )
        .await
        .unwrap();
    let emails = engine
        .create_campaign(
            &ws,
            campaign(
                "emails",
                one_step(Action::Email, "Dear {{first_name}}", Some("Hello")),
            ),
        )
        .await
        .unwrap();
    let enroll = |campaign: CampaignId, prefix: &'static str| {
        let engine = &engine;
        let world = &world;
        let ws = &ws;
        async move {
            let leads: Vec<LeadSpec> = (0..24)
                .map(|i| {
                    let lead = LeadId::new(format!("{prefix}{i}"));
                    world.add_lead(lead.clone(), SandboxLead::default());
                    LeadSpec {
                        lead_id: lead,
                        profile: LeadProfile::new(&format!("F{i}"), "L", "C")
                            .with_email(&format!("{prefix}{i}@example.com")),
                        connection_degree: ConnectionDegree::Second,
                        sender: None,
                    }
                })
                .collect();
            engine
                .enroll_many(ws, &campaign, leads, EnrollOptions::default())
                .await
                .unwrap();
        }
    };
    enroll(invites, "li-").await;
    enroll(emails, "em-").await;

    let end = start + Duration::days(10);
    let mut ticks = 0u64;
    loop {
        engine.tick().await.unwrap();
        ticks += 1;
        match engine.next_due().await.unwrap() {
            Some(t) if t <= end && ticks < 100_000 => clock.advance_to(t.max(clock.now())),
            _ => break,
        }
    }

    let events = log.read_after(0, usize::MAX).await.unwrap();
    // Every step started was rendered from its lead's profile (what the sandbox then made of
    // the email is beside the point here).
    let started = |campaign: &str| {
        events
            .iter()
            .filter(|e| e.event_type == "StepStarted" && e.aggregate_id.starts_with(campaign))
            .count() as u64
    };
    let (invited, emailed) = (started("ws/invites/"), started("ws/emails/"));
    assert_eq!(invited, 24, "every LinkedIn lead's invite started");
    assert_eq!(emailed, 24, "every email lead's email started");
    assert_eq!(
        directory.gets.load(Ordering::Relaxed),
        0,
        "no step read its profile on its own"
    );
    let batches = directory.batches.load(Ordering::Relaxed);
    assert!(
        directory.asked.load(Ordering::Relaxed) >= invited + emailed,
        "every started step's profile was read ahead"
    );
    assert!(
        batches < invited + emailed,
        "{batches} reads for {} steps: not one per step",
        invited + emailed
    );
}
