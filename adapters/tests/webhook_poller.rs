//! The polling fallback against a mock provider, feeding a real engine: what notifications
//! missed is found, fed once, and fed again harmlessly by a fresh poller.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use plera_actors::store::MemoryEventLog;
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadProfile, LeadSpec, SenderSettings, SequentialIds,
    VirtualClock,
};
use plera_adapters::provider::{HttpLinkedIn, LogAccounts, ProviderConfig};
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_adapters::webhook::{PollReport, Poller, PollerConfig};
use plera_domain::ids::{CampaignId, LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::play::Play;
use plera_domain::values::{ConnectionDegree, Tier, WorkingHours};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn settings() -> SenderSettings {
    SenderSettings {
        tier: Tier::Premium,
        limits: None,
        timezone: chrono_tz::Europe::London,
        working_hours: WorkingHours::parse("09:00", "17:00").unwrap(),
        warm_up: false,
    }
}

async fn mock_provider(server: &MockServer) {
    let ok = |status: &str| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"object": "Account", "id": "p", "sources": [{"status": status}]}))
    };
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/prov-1"))
        .respond_with(ok("OK"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/prov-2"))
        .respond_with(ResponseTemplate::new(500))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/relations"))
        .and(query_param("account_id", "prov-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [
                {"member_id": "lead-1", "created_at": "2026-03-02T10:30:00Z"},
                {"member_id": "old-friend", "created_at": "2025-01-01T00:00:00Z"},
            ],
            "cursor": "more",
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/chats"))
        .and(query_param("account_id", "prov-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"id": "c1", "attendee_provider_id": "lead-1", "timestamp": "2026-03-02T10:50:00Z"}],
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/chats/c1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [
                {"id": "in-1", "text": "Yes, let's talk", "is_sender": false, "sender_id": "lead-1",
                 "timestamp": "2026-03-02T10:50:00Z"},
                // A lead id the engine refuses: it must not stop the round, nor every round.
                {"id": "in-bad", "text": "hi", "is_sender": false, "sender_id": "bad/lead",
                 "timestamp": "2026-03-02T10:51:00Z"},
                {"id": "out-1", "text": "Thanks for connecting", "is_sender": true,
                 "timestamp": "2026-03-02T10:40:00Z"},
            ],
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_poller_feeds_what_notifications_missed_once() {
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    let world = SandboxWorld::new(SandboxConfig::seeded(3), clock.clone());
    let log = Arc::new(MemoryEventLog::new());
    let engine = Engine::builder()
        .event_log(log.clone())
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .build()
        .await
        .unwrap();
    let ws = WorkspaceId::new("ws");
    let mut accounts = Vec::new();
    for provider in ["prov-1", "prov-2"] {
        let link = engine
            .start_connection(&ws, &OwnerId::new("o"), None)
            .await
            .unwrap();
        let account = engine
            .complete_connection(&link.state, &ProviderAccountId::new(provider), settings())
            .await
            .unwrap();
        world.add_account_in(
            account.clone(),
            provider.into(),
            Tier::Premium,
            chrono_tz::Europe::London,
        );
        accounts.push(account);
    }
    engine
        .register_mailbox(&ws, &"mb".into(), "sales@acme.io")
        .await
        .unwrap();
    world.add_lead(LeadId::new("lead-1"), SandboxLead::default());
    let campaign = engine
        .create_campaign(
            &ws,
            CampaignSpec {
                id: Some(CampaignId::new("camp")),
                name: "camp".into(),
                play: Play::linkedin_first(),
                senders: vec![accounts[0].clone()],
                mailbox: Some("mb".into()),
            },
        )
        .await
        .unwrap();
    engine
        .enroll(
            &ws,
            &campaign,
            LeadSpec {
                lead_id: LeadId::new("lead-1"),
                profile: LeadProfile::new("Ada", "Lovelace", "Acme")
                    .with_var("sender_first_name", "Al"),
                connection_degree: ConnectionDegree::Second,
                sender: None,
            },
            EnrollOptions::default(),
        )
        .await
        .unwrap();
    for _ in 0..20 {
        engine.tick().await.unwrap();
        if !world.ledger().is_empty() {
            break;
        }
        if let Some(next) = engine.next_due().await.unwrap() {
            clock.advance_to(next);
        }
    }
    assert_eq!(world.ledger().len(), 1, "the invite went out");
    clock.advance_to(Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap());

    let server = MockServer::start().await;
    mock_provider(&server).await;
    let config = ProviderConfig::new(Url::parse(&server.uri()).unwrap(), SecretString::from("k"))
        .with_timeout(Duration::from_secs(2));
    let gateway = Arc::new(HttpLinkedIn::new(config).unwrap().with_clock(clock.clone()));
    let directory = Arc::new(LogAccounts::new(log.clone()));
    let poller = Poller::new(
        gateway.clone(),
        engine.clone(),
        directory.clone(),
        clock.clone(),
        PollerConfig::default(),
    );

    let report = poller.poll_once().await.unwrap();
    assert_eq!(
        report,
        PollReport {
            accounts: 2,
            // The OK status, the new relation (not the year-old one) and the inbound messages.
            fed: 4,
            // The acceptance and the reply (an OK status changes nothing).
            recorded: 2,
            // The message with a lead id no engine takes.
            refused: 1,
            failed_accounts: vec![ProviderAccountId::new("prov-2")],
        }
    );
    let types: Vec<String> = log.all().iter().map(|e| e.event_type.clone()).collect();
    assert_eq!(types.iter().filter(|t| *t == "InviteAccepted").count(), 1);
    assert_eq!(types.iter().filter(|t| *t == "ReplyReceived").count(), 1);

    let events = log.all().len();
    let again = poller.poll_once().await.unwrap();
    assert_eq!(
        (again.fed, again.recorded, again.refused),
        (0, 0, 0),
        "nothing is fed twice, not even what was refused"
    );
    let fresh = Poller::new(
        gateway,
        engine.clone(),
        directory,
        clock,
        PollerConfig::default(),
    );
    let overlap = fresh.poll_once().await.unwrap();
    assert_eq!(
        (overlap.fed, overlap.recorded, overlap.refused),
        (4, 0, 1),
        "the engine deduplicates"
    );
    assert_eq!(log.all().len(), events);
    engine.shutdown().await;
}
