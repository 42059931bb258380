//! The engine end to end on the in-memory log with a recording gateway: connect, campaign,
//! enroll, invites paced inside working hours, acceptance, message, reply stops the sequence.

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use plera_actors::store::MemoryEventLog;
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadProfile, LeadSpec, SenderSettings, SequentialIds,
    VirtualClock,
};
use plera_domain::ids::{LeadId, OwnerId, ProviderAccountId, ProviderMessageId, WorkspaceId};
use plera_domain::lead::{SequenceStatus, StopReason};
use plera_domain::play::Play;
use plera_domain::ports::{
    Clock, EmailGateway, EmailReceipt, EmailRequest, GatewayError, InboundEvent, InviteReceipt,
    InviteRequest, LinkedInGateway, MessageReceipt, MessageRequest, StepKey,
};
use plera_domain::values::{Action, Channel, ConnectionDegree, Limits, Tier, WorkingHours};
use std::sync::{Arc, Mutex};

/// What the fake provider received: action, lead (or address), step key, when.
type Received = (Action, String, StepKey, DateTime<Utc>);

#[derive(Default)]
struct Recorder {
    actions: Mutex<Vec<Received>>,
    clock: Mutex<Option<Arc<VirtualClock>>>,
}

impl Recorder {
    fn record(&self, action: Action, lead: &str, key: &StepKey) {
        let now = self.clock.lock().unwrap().as_ref().unwrap().now();
        self.actions
            .lock()
            .unwrap()
            .push((action, lead.to_string(), key.clone(), now));
    }
    fn find(&self, key: &StepKey) -> bool {
        self.actions
            .lock()
            .unwrap()
            .iter()
            .any(|(_, _, k, _)| k == key)
    }
}

#[async_trait]
impl LinkedInGateway for Recorder {
    async fn send_invite(&self, r: InviteRequest) -> Result<InviteReceipt, GatewayError> {
        self.record(Action::Invite, r.lead.as_str(), &r.key);
        Ok(InviteReceipt {
            invitation_id: r.key.to_string(),
            usage: Some(0.1),
            at: Utc::now(),
        })
    }
    async fn send_message(&self, r: MessageRequest) -> Result<MessageReceipt, GatewayError> {
        self.record(Action::Message, r.lead.as_str(), &r.key);
        Ok(MessageReceipt {
            message_id: r.key.to_string(),
            at: Utc::now(),
        })
    }
    async fn find_invite(&self, key: &StepKey) -> Result<Option<InviteReceipt>, GatewayError> {
        Ok(self.find(key).then(|| InviteReceipt {
            invitation_id: key.to_string(),
            usage: None,
            at: Utc::now(),
        }))
    }
    async fn find_message(&self, key: &StepKey) -> Result<Option<MessageReceipt>, GatewayError> {
        Ok(self.find(key).then(|| MessageReceipt {
            message_id: key.to_string(),
            at: Utc::now(),
        }))
    }
}

#[async_trait]
impl EmailGateway for Recorder {
    async fn send_email(&self, r: EmailRequest) -> Result<EmailReceipt, GatewayError> {
        self.record(Action::Email, &r.to, &r.key);
        Ok(EmailReceipt {
            message_id: r.key.to_string(),
            at: Utc::now(),
        })
    }
    async fn find_email(&self, key: &StepKey) -> Result<Option<EmailReceipt>, GatewayError> {
        Ok(self.find(key).then(|| EmailReceipt {
            message_id: key.to_string(),
            at: Utc::now(),
        }))
    }
}

async fn run_until(engine: &Engine, clock: &VirtualClock, end: DateTime<Utc>) {
    for _ in 0..100_000 {
        let report = engine.tick().await.unwrap();
        assert_eq!(report.next_due, engine.next_due().await.unwrap());
        match report.next_due {
            Some(t) if t <= end => clock.advance_to(t),
            _ => break,
        }
    }
    clock.advance_to(end);
}

#[tokio::test]
async fn invites_are_paced_in_working_hours_and_a_reply_stops_the_lead() {
    // Monday 2 March 2026, 07:00 UTC = 07:00 in London.
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 7, 0, 0).unwrap();
    let clock = Arc::new(VirtualClock::new(t0));
    let gateway = Arc::new(Recorder::default());
    *gateway.clock.lock().unwrap() = Some(Arc::clone(&clock));
    let engine = Engine::builder()
        .event_log(Arc::new(MemoryEventLog::new()))
        .linkedin(gateway.clone())
        .email(gateway.clone())
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .seed(7)
        .deterministic_tokens()
        .build()
        .await
        .unwrap();
    let ws = WorkspaceId::new("ws");
    let link = engine
        .start_connection(&ws, &OwnerId::new("alice"), None)
        .await
        .unwrap();
    let limits = Limits {
        daily_invites: 3,
        daily_messages: 10,
        weekly_invites: 10,
    };
    let account = engine
        .complete_connection(
            &link.state,
            &ProviderAccountId::new("li-1"),
            SenderSettings {
                tier: Tier::Premium,
                limits: Some(limits),
                timezone: chrono_tz::Europe::London,
                working_hours: WorkingHours::parse("09:00", "17:00").unwrap(),
                warm_up: false,
            },
        )
        .await
        .unwrap();
    // The token is single use.
    assert!(engine
        .complete_connection(
            &link.state,
            &ProviderAccountId::new("li-1"),
            SenderSettings {
                tier: Tier::Premium,
                limits: None,
                timezone: chrono_tz::Europe::London,
                working_hours: WorkingHours::default(),
                warm_up: false,
            },
        )
        .await
        .is_err());
    engine
        .register_mailbox(&ws, &"mb".into(), "sales@acme.io")
        .await
        .unwrap();
    let campaign = engine
        .create_campaign(
            &ws,
            CampaignSpec {
                id: Some("c1".into()),
                name: "Q1".into(),
                play: Play::linkedin_first(),
                senders: vec![account.clone()],
                mailbox: Some("mb".into()),
            },
        )
        .await
        .unwrap();
    let leads: Vec<LeadSpec> = (0..8)
        .map(|i| LeadSpec {
            lead_id: LeadId::new(format!("lead-{i}")),
            profile: LeadProfile::new("Ada", "Lovelace", "Acme")
                .with_var("sender_first_name", "Alice")
                .with_email(&format!("lead{i}@example.com")),
            connection_degree: ConnectionDegree::Second,
            sender: None,
        })
        .collect();
    engine
        .enroll_many(&ws, &campaign, leads, EnrollOptions::default())
        .await
        .unwrap();
    // Enrolling an active lead again is refused.
    let again = engine
        .enroll(
            &ws,
            &campaign,
            LeadSpec {
                lead_id: LeadId::new("lead-0"),
                profile: LeadProfile::new("Ada", "Lovelace", "Acme"),
                connection_degree: ConnectionDegree::Second,
                sender: None,
            },
            EnrollOptions::default(),
        )
        .await;
    assert!(again.is_err());

    run_until(&engine, &clock, t0 + Duration::days(2)).await;
    let actions = gateway.actions.lock().unwrap().clone();
    let invites: Vec<_> = actions.iter().filter(|a| a.0 == Action::Invite).collect();
    // 3 a day over Monday and Tuesday, all inside 09:00–17:00 London (= UTC in March).
    assert_eq!(invites.len(), 6, "{invites:?}");
    for (_, _, _, at) in &invites {
        assert!((9..17).contains(&at.hour()), "invite at {at}");
    }

    // The sender belongs to the user who started the flow.
    let view = engine.sender_status(&ws, &account).await.unwrap();
    assert_eq!(view.account_state.owner(), Some(&OwnerId::new("alice")));

    // A sender actor that stops is re-spawned from the log with the same use of its quota.
    let before = engine.sender_status(&ws, &account).await.unwrap().usage;
    engine.reload_sender(&ws, &account).await.unwrap();
    let after = engine.sender_status(&ws, &account).await.unwrap().usage;
    assert_eq!(before, after);
    assert!(after.is_some_and(|u| u.weekly_invites == 6), "{after:?}");

    // lead-0 accepts; its message follows a day later; then it replies and stops.
    engine
        .ingest(
            &ws,
            InboundEvent::InviteAccepted {
                account: account.clone(),
                lead: LeadId::new("lead-0"),
                at: clock.now(),
            },
        )
        .await
        .unwrap();
    run_until(&engine, &clock, clock.now() + Duration::days(2)).await;
    let messages = gateway
        .actions
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a.0 == Action::Message && a.1 == "lead-0")
        .count();
    assert_eq!(messages, 1);
    let reply = InboundEvent::MessageReceived {
        account: Some(account.clone()),
        lead: LeadId::new("lead-1"),
        channel: Channel::Linkedin,
        message_id: ProviderMessageId::new("m-1"),
        text: "Sounds interesting, tell me more".into(),
        at: clock.now(),
    };
    engine.ingest(&ws, reply.clone()).await.unwrap();
    let dup = engine.ingest(&ws, reply).await.unwrap();
    assert_eq!(dup, plera_actors::IngestOutcome::Duplicate);
    let seqs = engine
        .lead_sequences(&ws, &LeadId::new("lead-1"))
        .await
        .unwrap();
    assert_eq!(
        seqs[0].1.status(),
        SequenceStatus::Stopped {
            reason: StopReason::Replied
        }
    );
    let before = gateway.actions.lock().unwrap().len();
    run_until(&engine, &clock, clock.now() + Duration::days(20)).await;
    let after: Vec<_> = gateway.actions.lock().unwrap()[before..]
        .iter()
        .filter(|a| a.1 == "lead-1" || a.1 == "lead1@example.com")
        .cloned()
        .collect();
    assert!(after.is_empty(), "steps after a reply: {after:?}");

    // The inbox side: a stranger's message is kept once; read marks need a known lead.
    let stranger = InboundEvent::MessageReceived {
        account: Some(account.clone()),
        lead: LeadId::new("stranger"),
        channel: Channel::Linkedin,
        message_id: ProviderMessageId::new("m-2"),
        text: "Who are you?".into(),
        at: clock.now(),
    };
    assert_eq!(
        engine.ingest(&ws, stranger.clone()).await.unwrap(),
        plera_actors::IngestOutcome::NoSequence
    );
    assert_eq!(
        engine.ingest(&ws, stranger).await.unwrap(),
        plera_actors::IngestOutcome::Duplicate
    );
    engine
        .mark_read(&ws, &LeadId::new("stranger"), Some(&account))
        .await
        .unwrap();
    engine
        .mark_read(&ws, &LeadId::new("lead-1"), None)
        .await
        .unwrap();
    assert!(matches!(
        engine.mark_read(&ws, &LeadId::new("nobody"), None).await,
        Err(plera_actors::EngineError::NotFound { .. })
    ));
    assert!(matches!(
        engine
            .mark_read(&WorkspaceId::new("other"), &LeadId::new("lead-1"), None)
            .await,
        Err(plera_actors::EngineError::NotFound { .. })
    ));
    engine.shutdown().await;
}
