//! The real engine run through `HttpLinkedIn` + `SmtpMailbox` + webhooks against the sandbox
//! served over HTTP/SMTP gives the same ledger as against the in-process sandbox for the same
//! seed; with provider faults (lost answers, outages) the ledger still shows nothing twice and
//! every limit held.

use std::collections::{BTreeSet, HashMap};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_actors::store::MemoryEventLog;
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadProfile, LeadSpec, SenderSettings, SequentialIds,
    VirtualClock,
};
use plera_adapters::email::{SmtpConfig, SmtpMailbox, SmtpSecurity};
use plera_adapters::provider::{
    HostedAuthKind, HostedAuthRequest, HttpLinkedIn, LogAccounts, ProviderConfig,
};
use plera_adapters::sandbox::{LedgerEntry, SandboxConfig, SandboxLead, SandboxWorld};
use plera_adapters::sandbox_http::{SandboxHttp, SandboxHttpConfig};
use plera_adapters::webhook::{RunningWebhooks, WebhookConfig, HOSTED_AUTH_PATH};
use plera_domain::ids::{
    AccountId, CampaignId, LeadId, MailboxId, OwnerId, ProviderAccountId, WorkspaceId,
};
use plera_domain::play::Play;
use plera_domain::ports::Clock;
use plera_domain::quota::window::local_day;
use plera_domain::values::{Action, ConnectionDegree, Limits, Tier, WorkingHours};
use secrecy::SecretString;
use url::Url;

const LEADS: usize = 24;
const PROVIDERS: [&str; 2] = ["li-a", "li-b"];

fn start() -> DateTime<Utc> {
    // Monday 2 March 2026, 09:00 in London.
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn settings() -> SenderSettings {
    SenderSettings {
        tier: Tier::Premium,
        limits: Some(Limits {
            daily_invites: 6,
            daily_messages: 10,
            weekly_invites: 25,
        }),
        timezone: chrono_tz::Europe::London,
        working_hours: WorkingHours::parse("09:00", "17:00").unwrap(),
        warm_up: false,
    }
}

fn world_config(seed: u64, fault_rate: f64) -> SandboxConfig {
    SandboxConfig {
        fault_rate,
        // Reconnect flows are not what this test compares.
        session_expiry_per_account_day: 0.0,
        ..SandboxConfig::seeded(seed)
    }
}

fn lead(i: usize) -> (LeadId, SandboxLead, LeadProfile) {
    let id = LeadId::new(format!("lead-{i:02}"));
    let email = (i % 2 == 0).then(|| format!("lead{i}@prospect.example"));
    let mut profile =
        LeadProfile::new("Ada", "Lovelace", "Acme").with_var("sender_first_name", "Al");
    if let Some(e) = &email {
        profile = profile.with_email(e);
    }
    let lead = SandboxLead {
        email,
        ..SandboxLead::default()
    };
    (id, lead, profile)
}

/// Mailbox, campaign over the senders, every lead enrolled.
async fn enroll_all(engine: &Engine, world: &SandboxWorld, senders: Vec<AccountId>) {
    let ws = WorkspaceId::new("ws");
    engine
        .register_mailbox(&ws, &MailboxId::new("mb"), "sales@acme.io")
        .await
        .unwrap();
    let campaign = engine
        .create_campaign(
            &ws,
            CampaignSpec {
                id: Some(CampaignId::new("spring")),
                name: "spring".into(),
                play: Play::linkedin_first(),
                senders,
                mailbox: Some(MailboxId::new("mb")),
            },
        )
        .await
        .unwrap();
    let mut specs = Vec::new();
    for i in 0..LEADS {
        let (id, sandbox_lead, profile) = lead(i);
        world.add_lead(id.clone(), sandbox_lead);
        specs.push(LeadSpec {
            lead_id: id,
            profile,
            connection_degree: ConnectionDegree::Second,
            sender: None,
        });
    }
    engine
        .enroll_many(&ws, &campaign, specs, EnrollOptions::default())
        .await
        .unwrap();
}

fn engine_builder(seed: u64, clock: &Arc<VirtualClock>) -> plera_actors::EngineBuilder {
    Engine::builder()
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .seed(seed)
        .deterministic_tokens()
}

/// The in-process run: the engine calls the world directly, as the integration harness does.
async fn run_in_process(seed: u64, fault_rate: f64, days: i64) -> Vec<LedgerEntry> {
    let clock = Arc::new(VirtualClock::new(start()));
    let world = SandboxWorld::new(world_config(seed, fault_rate), clock.clone());
    let engine = engine_builder(seed, &clock)
        .event_log(Arc::new(MemoryEventLog::new()))
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .build()
        .await
        .unwrap();
    let ws = WorkspaceId::new("ws");
    let mut senders = Vec::new();
    for provider in PROVIDERS {
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
        senders.push(account);
    }
    enroll_all(&engine, &world, senders).await;
    let end = start() + Duration::days(days);
    loop {
        let now = clock.now();
        for event in world.take_notifications(now) {
            engine.ingest(&ws, event).await.unwrap();
        }
        engine.tick().await.unwrap();
        let next = [
            engine.next_due().await.unwrap(),
            world.next_notification_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) if t <= end => clock.advance_to(t.max(now)),
            _ => break,
        }
    }
    engine.shutdown().await;
    world.ledger()
}

/// The same run with every edge over the wire: provider API, SMTP, webhooks, hosted auth.
async fn run_over_http(seed: u64, fault_rate: f64, days: i64) -> (Vec<LedgerEntry>, Vec<String>) {
    let clock = Arc::new(VirtualClock::new(start()));
    let world = SandboxWorld::new(world_config(seed, fault_rate), clock.clone());
    let webhook_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let webhook_url = Url::parse(&format!(
        "http://{}",
        webhook_listener.local_addr().unwrap()
    ))
    .unwrap();
    let (api_key, secret) = (
        SecretString::from("sandbox-key"),
        SecretString::from("hook-secret"),
    );
    let sandbox = SandboxHttp::start(
        world.clone(),
        SandboxHttpConfig {
            api_key: api_key.clone(),
            webhook_url: webhook_url.clone(),
            webhook_secret: secret.clone(),
            mailboxes: [(MailboxId::new("mb"), "sales@acme.io".to_string())].into(),
        },
    )
    .await
    .unwrap();
    let log = Arc::new(MemoryEventLog::new());
    let accounts = Arc::new(LogAccounts::new(log.clone()));
    let provider =
        ProviderConfig::new(sandbox.api_url(), api_key).with_timeout(StdDuration::from_secs(10));
    let linkedin = Arc::new(
        HttpLinkedIn::new(provider)
            .unwrap()
            .with_clock(clock.clone())
            .with_accounts(accounts.clone()),
    );
    let mut smtp = SmtpConfig::new("127.0.0.1", sandbox.smtp_addr().port(), SmtpSecurity::Plain)
        .with_mailbox(MailboxId::new("mb"), "sales@acme.io");
    smtp.timeout = StdDuration::from_secs(5);
    let email = Arc::new(SmtpMailbox::new(smtp).unwrap().with_clock(clock.clone()));
    let engine = engine_builder(seed, &clock)
        .event_log(log.clone())
        .linkedin(linkedin.clone())
        .email(email)
        .build()
        .await
        .unwrap();
    let mut hooks = WebhookConfig::new(secret, accounts, settings());
    hooks.clock = clock.clone();
    hooks.workers = 1;
    let webhooks = RunningWebhooks::serve(webhook_listener, engine.clone(), hooks).unwrap();

    let ws = WorkspaceId::new("ws");
    let mut senders = Vec::new();
    for provider in PROVIDERS {
        let link = engine
            .start_connection(&ws, &OwnerId::new("o"), None)
            .await
            .unwrap();
        let page = linkedin
            .hosted_auth_link(HostedAuthRequest {
                kind: HostedAuthKind::Create,
                state: SecretString::from(link.state.clone()),
                notify_url: webhook_url.join(HOSTED_AUTH_PATH).unwrap(),
                expires_at: link.expires_at,
            })
            .await
            .unwrap();
        let account = sandbox
            .complete_hosted_auth(
                &page,
                provider.into(),
                Tier::Premium,
                chrono_tz::Europe::London,
            )
            .await
            .unwrap();
        senders.push(account);
    }
    enroll_all(&engine, &world, senders).await;
    let end = start() + Duration::days(days);
    loop {
        let now = clock.now();
        let delivered = sandbox.deliver_due(now).await;
        assert_eq!(
            (delivered.dropped, delivered.unroutable),
            (0, 0),
            "{delivered:?}"
        );
        engine.tick().await.unwrap();
        let next = [
            engine.next_due().await.unwrap(),
            world.next_notification_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) if t <= end => clock.advance_to(t.max(now)),
            _ => break,
        }
    }
    webhooks.stop().await;
    engine.shutdown().await;
    let ledger = world.ledger();
    sandbox.stop().await;
    let events = log.all().into_iter().map(|e| e.event_type).collect();
    (ledger, events)
}

/// Nothing twice, no invite twice to one lead, daily and 7-day limits and working hours held.
fn violations(ledger: &[LedgerEntry]) -> Vec<String> {
    let limits = settings().limits.unwrap();
    let hours = settings().working_hours;
    let tz = chrono_tz::Europe::London;
    let mut found = Vec::new();
    let mut keys = BTreeSet::new();
    let mut invited = BTreeSet::new();
    let mut per_day: HashMap<(String, Action, chrono::NaiveDate), u32> = HashMap::new();
    let mut invites: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for e in ledger {
        if !keys.insert((e.key.clone(), e.action as u8)) {
            found.push(format!("{} of {} performed twice", e.action, e.key));
        }
        let Some(account) = &e.account_id else {
            continue;
        };
        if !hours.contains(e.at.with_timezone(&tz).time()) {
            found.push(format!("outside working hours: {e:?}"));
        }
        *per_day
            .entry((account.to_string(), e.action, local_day(tz, e.at)))
            .or_default() += 1;
        if e.action == Action::Invite {
            if !invited.insert((account.clone(), e.lead_id.clone())) {
                found.push(format!("{account} invited {} twice", e.lead_id));
            }
            invites.entry(account.to_string()).or_default().push(e.at);
        }
    }
    for ((account, action, day), n) in per_day {
        let cap = match action {
            Action::Invite => limits.daily_invites,
            Action::Message => limits.daily_messages,
            Action::Email => u32::MAX,
        };
        if n > cap {
            found.push(format!("{account}: {n} {action}s on {day}"));
        }
    }
    for (account, times) in invites {
        for t in &times {
            let window = times
                .iter()
                .filter(|u| *u <= t && **u > *t - Duration::days(7))
                .count();
            if window as u32 > limits.weekly_invites {
                found.push(format!("{account}: {window} invites in the 7 days to {t}"));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_the_ledger_is_the_in_process_one() {
    let (seed, days) = (41, 14);
    let in_process = run_in_process(seed, 0.0, days).await;
    let (over_http, _) = run_over_http(seed, 0.0, days).await;
    assert!(
        in_process.iter().any(|e| e.action == Action::Email)
            && in_process.iter().any(|e| e.action == Action::Invite),
        "the run exercises invites and emails: {in_process:#?}"
    );
    assert_eq!(violations(&over_http), Vec::<String>::new());
    assert_eq!(over_http.len(), in_process.len());
    for (http, local) in over_http.iter().zip(&in_process) {
        assert_eq!(http, local);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_lost_answers_and_outages_nothing_happens_twice_and_limits_hold() {
    let (ledger, events) = run_over_http(7, 0.25, 10).await;
    assert!(ledger.len() > 10, "the run did something: {}", ledger.len());
    let count = |kind: &str| events.iter().filter(|e| *e == kind).count();
    assert!(
        count("StepOutcomeUnknown") > 0,
        "answers were lost over the wire"
    );
    assert!(count("StepFailed") > 0, "outages failed steps");
    assert_eq!(violations(&ledger), Vec::<String>::new());
}
