//! The webhook endpoint over real HTTP on 127.0.0.1, in front of a real engine (memory log,
//! sandbox world): authentication, size limit, bad JSON, and redeliveries that change nothing.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use plera_actors::store::MemoryEventLog;
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadProfile, LeadSpec, SenderSettings, SequentialIds,
    VirtualClock,
};
use plera_adapters::email::message_id_for;
use plera_adapters::provider::LogAccounts;
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_adapters::webhook::{
    RunningWebhooks, WebhookConfig, ACCOUNT_STATUS_PATH, EMAIL_PATH, HOSTED_AUTH_PATH,
    MESSAGES_PATH, RELATIONS_PATH, SECRET_HEADER,
};
use plera_domain::ids::{CampaignId, LeadId, OwnerId, SequenceId, WorkspaceId};
use plera_domain::lead::{SequenceStatus, StopReason};
use plera_domain::play::Play;
use plera_domain::ports::StepKey;
use plera_domain::sender::SenderStatus;
use plera_domain::values::{ConnectionDegree, Tier, WorkingHours};
use secrecy::SecretString;
use serde_json::{json, Value};

const SECRET: &str = "whsec-7d1e0b";

struct Setup {
    engine: Engine,
    log: Arc<MemoryEventLog>,
    world: SandboxWorld,
    server: RunningWebhooks,
    http: reqwest::Client,
    workspace: WorkspaceId,
    clock: Arc<VirtualClock>,
}

fn settings() -> SenderSettings {
    SenderSettings {
        tier: Tier::Premium,
        limits: None,
        timezone: chrono_tz::Europe::London,
        working_hours: WorkingHours::parse("09:00", "17:00").unwrap(),
        warm_up: false,
    }
}

async fn setup(max_body: usize) -> Setup {
    // Monday 2 March 2026, 10:00 in London.
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    let world = SandboxWorld::new(SandboxConfig::seeded(5), clock.clone());
    let log = Arc::new(MemoryEventLog::new());
    let engine = Engine::builder()
        .event_log(log.clone())
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .seed(5)
        .build()
        .await
        .unwrap();
    let mut config = WebhookConfig::new(
        SecretString::from(SECRET),
        Arc::new(LogAccounts::new(log.clone())),
        settings(),
    );
    config.max_body = max_body;
    config.clock = clock.clone();
    config.workers = 1;
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = RunningWebhooks::start(engine.clone(), config, addr).unwrap();
    Setup {
        engine,
        log,
        world,
        server,
        http: reqwest::Client::new(),
        workspace: WorkspaceId::new("ws"),
        clock,
    }
}

impl Setup {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_with(path, Some(SECRET), body.to_string()).await
    }

    async fn post_with(&self, path: &str, secret: Option<&str>, body: String) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.server.url()))
            .header("content-type", "application/json")
            .body(body);
        if let Some(secret) = secret {
            request = request.header(SECRET_HEADER, secret);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    fn events(&self) -> usize {
        self.log.all().len()
    }

    /// Connects `prov-1` through the hosted-auth webhook; returns our account id.
    async fn connect(&self) -> String {
        let link = self
            .engine
            .start_connection(&self.workspace, &OwnerId::new("owner"), None)
            .await
            .unwrap();
        let body =
            json!({"status": "CREATION_SUCCESS", "account_id": "prov-1", "name": link.state});
        let (status, answer) = self.post(HOSTED_AUTH_PATH, &body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "connected");
        let account = answer["account_id"].as_str().unwrap().to_string();
        let after = self.events();
        for _ in 0..4 {
            let (status, answer) = self.post(HOSTED_AUTH_PATH, &body).await;
            assert_eq!(
                (status, answer["status"].as_str()),
                (200, Some("duplicate"))
            );
        }
        assert_eq!(
            self.events(),
            after,
            "a redelivered completion records nothing"
        );
        self.world.add_account_in(
            account.as_str().into(),
            "prov-1".into(),
            Tier::Premium,
            chrono_tz::Europe::London,
        );
        account
    }

    /// A campaign with `lead-1` in it, its invite sent.
    async fn enroll_and_invite(&self, account: &str) {
        self.world
            .add_lead(LeadId::new("lead-1"), SandboxLead::default());
        self.engine
            .register_mailbox(&self.workspace, &"mb".into(), "sales@acme.io")
            .await
            .unwrap();
        let campaign = self
            .engine
            .create_campaign(
                &self.workspace,
                CampaignSpec {
                    id: Some(CampaignId::new("camp")),
                    name: "camp".into(),
                    play: Play::linkedin_first(),
                    senders: vec![account.into()],
                    mailbox: Some("mb".into()),
                },
            )
            .await
            .unwrap();
        self.engine
            .enroll(
                &self.workspace,
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
            self.engine.tick().await.unwrap();
            if !self.world.ledger().is_empty() {
                break;
            }
            if let Some(next) = self.engine.next_due().await.unwrap() {
                self.clock.advance_to(next);
            }
        }
        assert_eq!(self.world.ledger().len(), 1, "the invite went out");
    }

    /// Posts `body` five times: the first is recorded, the others change nothing.
    async fn deliver_five_times(&self, path: &str, body: &Value) {
        let (status, answer) = self.post(path, body).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("recorded")),
            "{answer}"
        );
        let after = self.events();
        for _ in 0..4 {
            let (status, answer) = self.post(path, body).await;
            assert_eq!(
                (status, answer["status"].as_str()),
                (200, Some("duplicate")),
                "{answer}"
            );
        }
        assert_eq!(self.events(), after, "redeliveries record nothing");
    }
}

fn accepted_events(setup: &Setup, kind: &str) -> usize {
    setup
        .log
        .all()
        .iter()
        .filter(|e| e.event_type == kind)
        .count()
}

#[tokio::test]
async fn acceptances_and_replies_delivered_five_times_are_recorded_once() {
    let s = setup(64 * 1024).await;
    let account = s.connect().await;
    s.enroll_and_invite(&account).await;

    let relation =
        json!({"event": "new_relation", "account_id": "prov-1", "user_provider_id": "lead-1"});
    s.deliver_five_times(RELATIONS_PATH, &relation).await;
    assert_eq!(accepted_events(&s, "InviteAccepted"), 1);

    // Our own message threaded back is not a reply.
    let own = json!({
        "event": "message_received", "account_id": "prov-1", "message_id": "m-0",
        "message": "Thanks for connecting", "sender": {"attendee_provider_id": "me"},
        "account_info": {"user_id": "me"},
    });
    let before = s.events();
    let (status, answer) = s.post(MESSAGES_PATH, &own).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("own_message"))
    );
    assert_eq!(s.events(), before);

    let reply = json!({
        "event": "message_received", "account_id": "prov-1", "chat_id": "c-1", "message_id": "m-1",
        "message": "Sounds good, let's talk", "timestamp": "2026-03-02T10:05:00Z",
        "sender": {"attendee_provider_id": "lead-1"}, "account_info": {"user_id": "me"},
    });
    s.deliver_five_times(MESSAGES_PATH, &reply).await;
    assert_eq!(accepted_events(&s, "ReplyReceived"), 1);
    let sequences = s
        .engine
        .lead_sequences(&s.workspace, &LeadId::new("lead-1"))
        .await
        .unwrap();
    assert_eq!(
        sequences[0].1.status(),
        SequenceStatus::Stopped {
            reason: StopReason::Replied
        },
        "the reply stopped the sequence"
    );
    s.server.stop().await;
}

#[tokio::test]
async fn an_email_reply_is_threaded_back_to_its_lead() {
    let s = setup(64 * 1024).await;
    let account = s.connect().await;
    s.enroll_and_invite(&account).await;
    let ours = message_id_for(
        &StepKey {
            sequence: SequenceId::new("ws/camp/lead-1"),
            step: 2,
        },
        "mail.acme.io",
    );
    let email = json!({
        "message_id": "<r1@lead.example>", "in_reply_to": ours, "from": "ada@lead.example",
        "text": "Happy to chat next week",
    });
    s.deliver_five_times(EMAIL_PATH, &email).await;
    assert_eq!(accepted_events(&s, "ReplyReceived"), 1);
    let stray = json!({"message_id": "<x@y>", "in_reply_to": "<x@elsewhere>", "text": "hi"});
    let (status, answer) = s.post(EMAIL_PATH, &stray).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("ignored")));
    s.server.stop().await;
}

#[tokio::test]
async fn an_expired_session_notice_reaches_the_sender() {
    let s = setup(64 * 1024).await;
    let account = s.connect().await;
    let notice = json!({"AccountStatus": {"account_id": "prov-1", "account_type": "LINKEDIN", "message": "CREDENTIALS"}});
    let (status, answer) = s.post(ACCOUNT_STATUS_PATH, &notice).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("sender_notified"))
    );
    let view = s
        .engine
        .sender_status(&s.workspace, &account.as_str().into())
        .await
        .unwrap();
    assert_eq!(view.status, SenderStatus::NeedsReconnect);
    s.server.stop().await;
}

#[tokio::test]
async fn wrong_secrets_big_bodies_and_bad_json_are_refused_and_change_nothing() {
    let s = setup(1024).await;
    s.connect().await;
    let before = s.events();
    let relation = json!({"account_id": "prov-1", "user_provider_id": "lead-1"}).to_string();
    for secret in [
        None,
        Some("wrong"),
        Some("whsec-7d1e0"),
        Some("WHSEC-7d1e0b"),
        Some("whsec-7d1e0b2"),
    ] {
        let (status, _) = s.post_with(RELATIONS_PATH, secret, relation.clone()).await;
        assert_eq!(status, 401, "secret {secret:?}");
    }
    let big = json!({"account_id": "prov-1", "user_provider_id": "x".repeat(2000)}).to_string();
    assert_eq!(
        s.post_with(RELATIONS_PATH, Some(SECRET), big.clone())
            .await
            .0,
        413
    );
    // Without the secret, even a big body is only a 401: nothing is read before the check.
    assert_eq!(s.post_with(RELATIONS_PATH, None, big).await.0, 401);
    assert_eq!(
        s.post_with(RELATIONS_PATH, Some(SECRET), "{not json".into())
            .await
            .0,
        400
    );
    assert_eq!(
        s.post_with(MESSAGES_PATH, Some(SECRET), relation.clone())
            .await
            .0,
        400
    );
    let unknown = json!({"account_id": "prov-x", "user_provider_id": "lead-1"});
    let (status, answer) = s.post(RELATIONS_PATH, &unknown).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("ignored")));
    assert_eq!(s.events(), before);
    s.server.stop().await;
}
