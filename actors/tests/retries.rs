//! A step that keeps failing transiently is given up after `MAX_ATTEMPTS`, so it cannot burn the
//! sender's quota forever.

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use plera_actors::driver::MAX_ATTEMPTS;
use plera_actors::store::{EventLog, MemoryEventLog};
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadProfile, LeadSpec, SenderSettings, SequentialIds,
    VirtualClock,
};
use plera_domain::ids::{LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::play::{Condition, Delay, Play, PlayStep};
use plera_domain::ports::{
    EmailGateway, EmailReceipt, EmailRequest, GatewayError, GatewayErrorKind, InviteReceipt,
    InviteRequest, LinkedInGateway, MessageReceipt, MessageRequest, StepKey,
};
use plera_domain::values::{Action, ConnectionDegree, Tier, WorkingHours};
use std::sync::Arc;

struct AlwaysDown;

fn down() -> GatewayError {
    GatewayError::new(GatewayErrorKind::Transient, "provider_error")
}

#[async_trait]
impl LinkedInGateway for AlwaysDown {
    async fn send_invite(&self, _: InviteRequest) -> Result<InviteReceipt, GatewayError> {
        Err(down())
    }
    async fn send_message(&self, _: MessageRequest) -> Result<MessageReceipt, GatewayError> {
        Err(down())
    }
    async fn find_invite(&self, _: &StepKey) -> Result<Option<InviteReceipt>, GatewayError> {
        Ok(None)
    }
    async fn find_message(&self, _: &StepKey) -> Result<Option<MessageReceipt>, GatewayError> {
        Ok(None)
    }
}

#[async_trait]
impl EmailGateway for AlwaysDown {
    async fn send_email(&self, _: EmailRequest) -> Result<EmailReceipt, GatewayError> {
        Err(down())
    }
    async fn find_email(&self, _: &StepKey) -> Result<Option<EmailReceipt>, GatewayError> {
        Ok(None)
    }
}

#[tokio::test]
async fn a_transiently_failing_step_is_given_up_after_max_attempts() {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap();
    let clock = Arc::new(VirtualClock::new(t0));
    let log = Arc::new(MemoryEventLog::new());
    let engine = Engine::builder()
        .event_log(log.clone())
        .linkedin(Arc::new(AlwaysDown))
        .email(Arc::new(AlwaysDown))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .build()
        .await
        .unwrap();
    let ws = WorkspaceId::new("ws");
    let link = engine
        .start_connection(&ws, &OwnerId::new("o"), None)
        .await
        .unwrap();
    let account = engine
        .complete_connection(
            &link.state,
            &ProviderAccountId::new("p"),
            SenderSettings {
                tier: Tier::Premium,
                limits: None,
                timezone: chrono_tz::UTC,
                working_hours: WorkingHours::parse("09:00", "17:00").unwrap(),
                warm_up: false,
            },
        )
        .await
        .unwrap();
    let play = Play {
        name: "invite-only".into(),
        description: String::new(),
        steps: vec![PlayStep {
            action: Action::Invite,
            template: None,
            subject: None,
            delay: Delay::minutes(0),
            condition: Condition::Always,
        }],
    };
    let campaign = engine
        .create_campaign(
            &ws,
            CampaignSpec {
                id: None,
                name: "c".into(),
                play,
                senders: vec![account],
                mailbox: None,
            },
        )
        .await
        .unwrap();
    engine
        .enroll(
            &ws,
            &campaign,
            LeadSpec {
                lead_id: LeadId::new("l"),
                profile: LeadProfile::new("A", "B", "C"),
                connection_degree: ConnectionDegree::Second,
                sender: None,
            },
            EnrollOptions::default(),
        )
        .await
        .unwrap();
    let end = t0 + Duration::days(10);
    for _ in 0..10_000 {
        engine.tick().await.unwrap();
        match engine.next_due().await.unwrap() {
            Some(t) if t <= end => clock.advance_to(t),
            _ => break,
        }
    }
    let events = log.read_after(0, usize::MAX).await.unwrap();
    let starts = events
        .iter()
        .filter(|e| e.event_type == "StepStarted")
        .count();
    assert_eq!(starts as u32, MAX_ATTEMPTS);
    let last_failure = events
        .iter()
        .rev()
        .find(|e| e.event_type == "StepFailed")
        .unwrap();
    assert_eq!(last_failure.payload["retryable"], false);
    assert!(events.iter().any(|e| e.event_type == "SequenceCompleted"));
    engine.shutdown().await;
}
