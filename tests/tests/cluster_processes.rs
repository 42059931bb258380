//! Two engine processes on one PostgreSQL schema, one killed with SIGKILL mid-run: the other
//! takes its senders over once their leases lapse, and between them nothing is sent twice, no
//! quota is overrun and the log's invariants hold (issue 10).

use chrono::{DateTime, TimeZone, Utc};
use plera_actors::{Engine, EnrollOptions, LeadProfile, LeadSpec, SenderSettings};
use plera_adapters::audit::audit_log;
use plera_adapters::store::open_store;
use plera_domain::ids::{AccountId, LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::values::{ConnectionDegree, Limits, Tier, WorkingHours};
use plera_tests::cluster_node::{pg_pool, PgLedger, ScaledClock, LEDGER_TABLE};
use plera_tests::{linkedin_first_campaign, register_mailbox, StoreKind, TestDb};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command};
use std::sync::Arc;

/// Virtual seconds per wall second: a wall second is five minutes of a working day.
const SPEED: i32 = 300;
const SENDERS: usize = 4;
const LEADS: usize = 160;
const DAILY_INVITES: u32 = 40;

fn node(url: &str, name: &str, clock: &ScaledClock, run_ms: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cluster_node"))
        .args([
            url,
            name,
            &clock.virtual_origin.to_rfc3339(),
            &clock.wall_origin.to_rfc3339(),
            &clock.speed.to_string(),
            &run_ms.to_string(),
        ])
        .spawn()
        .expect("start a node process")
}

async fn set_up(url: &str, clock: Arc<ScaledClock>) -> Vec<AccountId> {
    let store = open_store(url).await.expect("store");
    sqlx::query(LEDGER_TABLE)
        .execute(&pg_pool(&store))
        .await
        .expect("ledger table");
    let ledger = Arc::new(PgLedger::new(pg_pool(&store), clock.clone()));
    let engine = Engine::builder()
        .event_log(store.event_log())
        .lead_directory(store.lead_directory())
        .linkedin(ledger.clone())
        .email(ledger)
        .clock(clock)
        .build()
        .await
        .expect("engine");
    let ws = WorkspaceId::new("acme");
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let link = engine
            .start_connection(&ws, &OwnerId::new(format!("owner{i}")), None)
            .await
            .expect("start connection");
        let account = engine
            .complete_connection(
                &link.state,
                &ProviderAccountId::new(format!("prov-{i}")),
                SenderSettings {
                    tier: Tier::Premium,
                    limits: Some(Limits {
                        daily_invites: DAILY_INVITES,
                        daily_messages: 100,
                        weekly_invites: 150,
                    }),
                    timezone: chrono_tz::UTC,
                    working_hours: WorkingHours::parse("09:00", "18:00").expect("hours"),
                    warm_up: false,
                },
            )
            .await
            .expect("connect");
        senders.push(account);
    }
    register_mailbox(&engine, &ws).await;
    let campaign = linkedin_first_campaign(&engine, &ws, "spring", senders.clone()).await;
    let leads = (0..LEADS)
        .map(|i| LeadSpec {
            lead_id: LeadId::new(format!("lead-{i}")),
            profile: LeadProfile::new(&format!("Ada{i}"), "Lovelace", "Acme")
                .with_var("sender_first_name", "Alice")
                .with_email(&format!("ada{i}@example.com")),
            connection_degree: ConnectionDegree::Second,
            sender: None,
        })
        .collect();
    engine
        .enroll_many(&ws, &campaign, leads, EnrollOptions::default())
        .await
        .expect("enroll");
    engine.shutdown().await;
    store.close().await;
    senders
}

/// (key, account, action, at) of every action the shared provider performed.
async fn ledger(pool: &sqlx::PgPool) -> Vec<(String, String, String, DateTime<Utc>)> {
    sqlx::query_as("SELECT key, account, action, at FROM test_ledger ORDER BY at")
        .fetch_all(pool)
        .await
        .expect("read ledger")
}

async fn owners(pool: &sqlx::PgPool) -> BTreeMap<String, String> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT resource, owner FROM leases WHERE starts_with(resource, 'sender:') AND owner <> ''",
    )
    .fetch_all(pool)
    .await
    .expect("read leases");
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_with_sigkill_hands_its_senders_over_and_nothing_is_sent_twice() {
    let db = TestDb::new(StoreKind::Postgres).await;
    let url = db.url().expect("a PostgreSQL URL").to_string();
    // Monday 08:55 virtual, a little ahead of the wall so set-up ends before working hours.
    let clock = Arc::new(ScaledClock {
        virtual_origin: Utc.with_ymd_and_hms(2026, 3, 2, 8, 55, 0).unwrap(),
        wall_origin: Utc::now(),
        speed: SPEED,
    });
    let senders = set_up(&url, clock.clone()).await;
    let store = open_store(&url).await.expect("store");
    let pool = pg_pool(&store);

    let mut a = node(&url, "node-a", &clock, 60_000);
    let mut b = node(&url, "node-b", &clock, 16_000);
    // Both at work: each runs some senders and has sent invites.
    let started = std::time::Instant::now();
    let before = loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let owners = owners(&pool).await;
        let sent = ledger(&pool).await;
        let by_a: BTreeSet<&String> = owners
            .iter()
            .filter(|(_, o)| o.as_str() == "node-a")
            .map(|(r, _)| r)
            .collect();
        let busy = owners.values().any(|o| o == "node-b") && !by_a.is_empty();
        if busy && sent.len() >= 20 {
            break owners;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the two nodes did not share the work: leases {owners:?}, {} actions",
            sent.len()
        );
    };
    a.kill().expect("SIGKILL node A");
    a.wait().expect("node A is gone");
    let killed_at = clock.virtual_origin + (Utc::now() - clock.wall_origin) * SPEED;
    let b_status = b.wait().expect("node B runs to its end");
    assert!(b_status.success(), "node B failed: {b_status}");

    let a_senders: BTreeSet<String> = before
        .iter()
        .filter(|(_, o)| o.as_str() == "node-a")
        .map(|(r, _)| r.trim_start_matches("sender:").to_string())
        .collect();
    // Node B took node A's senders over (a new owner: a new token) and gave every lease up
    // when it shut down.
    let tokens: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT resource, owner, token FROM leases")
            .fetch_all(&pool)
            .await
            .expect("read leases");
    for account in &a_senders {
        let resource = format!("sender:{account}");
        assert!(
            tokens.iter().any(|(r, _, t)| *r == resource && *t > 1),
            "node B took over {account}: {tokens:?}"
        );
    }
    let kept: Vec<&(String, String, i64)> = tokens
        .iter()
        .filter(|(r, owner, _)| owner == "node-b" && !r.starts_with("projection:"))
        .collect();
    assert!(kept.is_empty(), "node B gave its leases up: {kept:?}");
    let sent = ledger(&pool).await;
    // Node B went on with node A's senders after the kill.
    let taken_over = sent
        .iter()
        .filter(|(_, account, _, at)| a_senders.contains(account) && *at > killed_at)
        .count();
    assert!(
        taken_over > 0,
        "no action for node A's senders after the kill"
    );

    // Nothing performed twice; no sender over its daily invites.
    let mut keys = BTreeSet::new();
    let mut per_day: BTreeMap<(String, chrono::NaiveDate), u32> = BTreeMap::new();
    for (key, account, action, at) in &sent {
        assert!(keys.insert(key.clone()), "{key} performed twice");
        if action == "invite" {
            *per_day
                .entry((account.clone(), at.date_naive()))
                .or_default() += 1;
        }
    }
    for ((account, day), n) in &per_day {
        assert!(*n <= DAILY_INVITES, "{account} sent {n} invites on {day}");
    }
    assert!(senders
        .iter()
        .all(|s| per_day.keys().any(|(a, _)| a == s.as_str())));

    // And the log itself passes the audit (invariants of DESIGN §5).
    let report = audit_log(store.event_log().as_ref(), None)
        .await
        .expect("audit reads the log");
    assert!(report.passed(), "audit: {:?}", report.violations);
    // Every performed action is on record as started in the log.
    let events = store
        .event_log()
        .read_after(0, usize::MAX)
        .await
        .expect("read the log");
    let started_keys: BTreeSet<String> = events
        .iter()
        .filter(|e| e.event_type == "StepStarted")
        .map(|e| {
            format!(
                "{}",
                plera_domain::ports::StepKey {
                    sequence: plera_domain::ids::SequenceId::new(e.aggregate_id.clone()),
                    step: e.payload["step"].as_u64().unwrap_or(u64::MAX) as u32,
                }
            )
        })
        .collect();
    for key in &keys {
        assert!(
            started_keys.contains(key),
            "{key} performed without StepStarted"
        );
    }
    store.close().await;
}
