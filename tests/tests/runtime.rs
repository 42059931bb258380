//! The runtime against the sandbox world on a virtual clock (issue: runtime "done when").

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_actors::store::{EventLog, MemoryEventLog};
use plera_actors::{CampaignSpec, EnrollOptions, LeadProfile, LeadSpec};
use plera_adapters::sandbox::SandboxLead;
use plera_domain::ids::{AccountId, CampaignId, LeadId};
use plera_domain::play::Play;
use plera_domain::values::{Action, ConnectionDegree, Limits, Tier};
use plera_tests::{london_sender, CrashPoint, CrashPoints, Harness};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap()
}

async fn campaign(h: &mut Harness, id: &str, senders: Vec<AccountId>) -> CampaignId {
    h.engine
        .create_campaign(
            &h.workspace,
            CampaignSpec {
                id: Some(CampaignId::new(id)),
                name: id.into(),
                play: Play::linkedin_first(),
                senders,
                mailbox: Some("mb".into()),
            },
        )
        .await
        .expect("campaign")
}

async fn enroll(h: &mut Harness, campaign: &CampaignId, prefix: &str, n: usize) {
    let mut specs = Vec::new();
    for i in 0..n {
        let lead = LeadId::new(format!("{prefix}-{i}"));
        let email = format!("{prefix}{i}@example.com");
        h.world.add_lead(
            lead.clone(),
            SandboxLead {
                email: Some(email.clone()),
                first_degree_with: BTreeSet::new(),
            },
        );
        specs.push(LeadSpec {
            lead_id: lead,
            profile: LeadProfile::new("Ada", "Lovelace", "Acme")
                .with_var("sender_first_name", "Alice")
                .with_email(&email),
            connection_degree: ConnectionDegree::Second,
            sender: None,
        });
    }
    h.engine
        .enroll_many(&h.workspace, campaign, specs, EnrollOptions::default())
        .await
        .expect("enroll");
}

async fn events(log: &Arc<dyn EventLog>) -> Vec<plera_actors::store::StoredEvent> {
    log.read_after(0, usize::MAX).await.expect("read")
}

/// Per sequence, in log order: no step after a reply or stop, messages only after acceptance.
async fn log_violations(log: &Arc<dyn EventLog>) -> Vec<String> {
    let mut stopped: HashMap<String, bool> = HashMap::new();
    let mut accepted: HashMap<String, bool> = HashMap::new();
    let mut invites: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::new();
    for e in events(log).await {
        let id = e.aggregate_id.clone();
        match e.event_type.as_str() {
            "ReplyReceived" | "SequenceStopped" => {
                stopped.insert(id, true);
            }
            "InviteAccepted" => {
                accepted.insert(id, true);
            }
            "StepStarted" if stopped.get(&id).copied().unwrap_or(false) => {
                out.push(format!("step after stop in {id} at {}", e.position));
            }
            "MessageSent" if !accepted.get(&id).copied().unwrap_or(false) => {
                out.push(format!("message without acceptance in {id}"));
            }
            "InviteSent" => {
                let n = invites.entry(id.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    out.push(format!("second invite in {id}"));
                }
            }
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn three_campaigns_share_one_sender_within_its_limits_and_fairly() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
    let mut h = Harness::new(11, monday(), log.clone(), None).await;
    let limits = Limits {
        daily_invites: 12,
        daily_messages: 20,
        weekly_invites: 50,
    };
    let sender = h.connect("li-1", london_sender(limits)).await;
    h.engine
        .register_mailbox(&h.workspace, &"mb".into(), "sales@acme.io")
        .await
        .unwrap();
    let mut campaigns = Vec::new();
    for (i, name) in ["alpha", "beta", "gamma"].iter().enumerate() {
        // Every campaign has more leads than the sender can invite in 30 days, so a fair
        // share is an equal share.
        let c = campaign(&mut h, name, vec![sender.clone()]).await;
        enroll(&mut h, &c, name, 100 + i * 10).await;
        campaigns.push(c);
    }
    h.run_until(monday() + Duration::days(30)).await;

    assert_eq!(h.ledger_violations(), Vec::<String>::new());
    assert_eq!(log_violations(&log).await, Vec::<String>::new());
    let ledger = h.ledger();
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
}

#[tokio::test]
async fn linkedin_limit_warnings_pause_the_sender_and_the_cooldown_resumes_it() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
    let mut h = Harness::new(5, monday(), log.clone(), None).await;
    // Our limit is above what LinkedIn lets a free account do (20 a day).
    let mut settings = london_sender(Limits {
        daily_invites: 60,
        daily_messages: 100,
        weekly_invites: 300,
    });
    settings.tier = Tier::Free;
    let sender = h.connect("li-free", settings).await;
    h.engine
        .register_mailbox(&h.workspace, &"mb".into(), "sales@acme.io")
        .await
        .unwrap();
    let c = campaign(&mut h, "push", vec![sender.clone()]).await;
    enroll(&mut h, &c, "p", 120).await;
    h.run_until(monday() + Duration::days(3)).await;

    let types: Vec<String> = events(&log)
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

#[tokio::test]
async fn killing_and_rebuilding_the_engine_mid_run_sends_nothing_twice() {
    let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
    let crash = Arc::new(EveryNth {
        every: 7,
        seen: AtomicUsize::new(0),
    });
    let mut h = Harness::new(3, monday(), log.clone(), Some(crash)).await;
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
    h.engine
        .register_mailbox(&h.workspace, &"mb".into(), "sales@acme.io")
        .await
        .unwrap();
    let c = campaign(&mut h, "crashy", vec![sender]).await;
    enroll(&mut h, &c, "k", 80).await;
    h.run_until(monday() + Duration::days(14)).await;

    assert!(h.restarts >= 5, "only {} restarts", h.restarts);
    assert_eq!(h.ledger_violations(), Vec::<String>::new());
    assert_eq!(log_violations(&log).await, Vec::<String>::new());
    // Every action the sandbox really performed is on record exactly once in the log.
    let all = events(&log).await;
    let sent = all
        .iter()
        .filter(|e| {
            matches!(
                e.event_type.as_str(),
                "InviteSent" | "MessageSent" | "EmailSent"
            )
        })
        .count();
    assert_eq!(sent, h.ledger().len(), "log and ledger disagree");
    assert!(all.iter().any(|e| e.event_type == "StepOutcomeUnknown"));
}
