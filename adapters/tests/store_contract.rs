//! The event log contract, run against the in-memory reference log, SQLite (a temp file) and
//! PostgreSQL (a schema of its own per test, in `DATABASE_URL` or the local `test` database);
//! then what only the SQL stores promise: reopening, migrations, refusing foreign or newer
//! schemas, and being readable by cqrs-es's own repositories; and the lead directory the SQL
//! stores keep beside the log.

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_actors::store::{
    Condition, EventLog, Fence, LeaseStore, MemoryEventLog, NewEvent, StoreError, StoredEvent,
};
use plera_actors::{LeadDirectory, LeadProfile, MemoryLeadDirectory};
use plera_adapters::store::{open_store, Store, StoreOpenError};
use plera_domain::ids::{AccountId, LeadId, WorkspaceId};
use plera_domain::values::Action;
use serde_json::{json, Value};
use sqlx::Connection;
use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Where a fresh store lives.

/// The PostgreSQL server the tests use.
fn pg_base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh place for one test's database: a temp directory or a PostgreSQL schema.
enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

#[derive(Clone, Copy, Debug)]
enum Sql {
    Sqlite,
    Postgres,
}

static SCHEMAS: AtomicU64 = AtomicU64::new(0);

impl Place {
    async fn new(kind: Sql) -> Place {
        match kind {
            Sql::Sqlite => Place::Sqlite(tempfile::tempdir().expect("temp dir")),
            Sql::Postgres => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let name = format!(
                    "plera_test_{}_{}_{}",
                    std::process::id(),
                    SCHEMAS.fetch_add(1, Ordering::Relaxed),
                    nanos
                );
                pg_admin(&format!("CREATE SCHEMA {name}")).await;
                Place::Postgres(name)
            }
        }
    }

    /// The store URL; `password` is put into Postgres URLs (the local server trusts anyone).
    fn url_with_password(&self, password: Option<&str>) -> String {
        match self {
            Place::Sqlite(dir) => format!("sqlite://{}", dir.path().join("plera.db").display()),
            Place::Postgres(schema) => {
                let mut url = url::Url::parse(&pg_base_url()).expect("DATABASE_URL is a URL");
                if let Some(password) = password {
                    url.set_password(Some(password)).expect("settable password");
                }
                url.query_pairs_mut()
                    .append_pair("options[search_path]", schema);
                url.to_string()
            }
        }
    }

    fn url(&self) -> String {
        self.url_with_password(None)
    }

    async fn cleanup(self) {
        if let Place::Postgres(schema) = self {
            pg_admin(&format!("DROP SCHEMA {schema} CASCADE")).await;
        }
    }
}

/// Runs one statement on the Postgres server, outside any test schema. A missing database is
/// created first (through the maintenance database `postgres`), so a bare server is enough.
async fn pg_admin(sql: &str) {
    let base = pg_base_url();
    let mut conn = match sqlx::PgConnection::connect(&base).await {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let mut url = url::Url::parse(&base).expect("DATABASE_URL is a URL");
            let name = url.path().trim_start_matches('/').replace('"', "\"\"");
            url.set_path("/postgres");
            let mut admin = sqlx::PgConnection::connect(url.as_str())
                .await
                .expect("PostgreSQL maintenance database");
            // A concurrent test may win the race: 42P04 or 23505 then.
            if let Err(e) = sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
            {
                let raced = matches!(&e, sqlx::Error::Database(d)
                    if matches!(d.code().as_deref(), Some("42P04") | Some("23505")));
                assert!(raced, "cannot create database {name}: {e}");
            }
            let _ = admin.close().await;
            sqlx::PgConnection::connect(&base)
                .await
                .expect("database just created")
        }
        other => {
            other.expect("PostgreSQL must be reachable at DATABASE_URL or 127.0.0.1:5432/test")
        }
    };
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    let _ = conn.close().await;
}

/// Runs `body` with a fresh place's URL, then removes the place even if `body` panicked.
async fn in_place<F, Fut>(kind: Sql, body: F)
where
    F: FnOnce(Arc<Place>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let place = Arc::new(Place::new(kind).await);
    let outcome = tokio::spawn(body(place.clone())).await;
    if let Ok(place) = Arc::try_unwrap(place) {
        place.cleanup().await;
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The log implementations the contract runs against.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    Sql(Sql),
}

/// Runs one contract case against a fresh, empty log of `backend`.
async fn contract<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Arc<dyn EventLog>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Memory => case(Arc::new(MemoryEventLog::new())).await,
        Backend::Sql(kind) => {
            in_place(kind, |place| async move {
                let store = open_store(&place.url()).await.expect("open store");
                case(store.event_log()).await;
                store.close().await;
            })
            .await
        }
    }
}

/// One test per backend for each contract case.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                contract(Backend::Memory, super::$case).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                contract(Backend::Sql(Sql::Sqlite), super::$case).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                contract(Backend::Sql(Sql::Postgres), super::$case).await
            }
        }
    )*};
}

/// One test per SQL store for each store case.
macro_rules! sql_stores {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                in_place(Sql::Sqlite, |place| super::$case(Sql::Sqlite, place)).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                in_place(Sql::Postgres, |place| super::$case(Sql::Postgres, place)).await
            }
        }
    )*};
}

// ---------------------------------------------------------------------------------------------
// Events.

const LEAD: &str = "LeadSequence";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// A plain event of `LeadSequence` `id`.
fn ev(id: &str, sequence: u64) -> NewEvent {
    NewEvent {
        aggregate_type: LEAD.into(),
        aggregate_id: id.into(),
        sequence,
        event_type: "Noted".into(),
        event_version: "1.0".into(),
        payload: json!({ "Noted": { "id": id, "n": sequence } }),
    }
}

/// A `StepStarted` of lead `id`.
fn step(
    id: &str,
    sequence: u64,
    action: &str,
    account: Option<&str>,
    at: DateTime<Utc>,
) -> NewEvent {
    let mut payload = json!({ "step": sequence, "action": action, "at": at });
    if let Some(account) = account {
        payload["account_id"] = json!(account);
    }
    NewEvent {
        event_type: "StepStarted".into(),
        payload,
        ..ev(id, sequence)
    }
}

fn is_conflict_on(result: Result<(), StoreError>, id: &str) -> bool {
    matches!(result, Err(StoreError::Conflict { aggregate_id, .. }) if aggregate_id == id)
}

/// Everything in the log, read in pages as a catch-up reader would.
async fn everything(log: &dyn EventLog) -> Vec<StoredEvent> {
    let mut all = Vec::new();
    loop {
        let page = log.read_after(all.len() as u64, 100).await.expect("read");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

fn same_event(stored: &StoredEvent, new: &NewEvent) -> bool {
    stored.aggregate_type == new.aggregate_type
        && stored.aggregate_id == new.aggregate_id
        && stored.sequence == new.sequence
        && stored.event_type == new.event_type
        && stored.event_version == new.event_version
        && stored.payload == new.payload
}

// ---------------------------------------------------------------------------------------------
// The contract.

contract!(
    appends_are_read_in_position_order,
    a_conflict_writes_nothing_of_its_batch,
    conflicts_are_detected,
    load_returns_one_aggregate_in_sequence_order,
    sender_actions_filter_by_account_and_time,
    payloads_round_trip_exactly,
    payload_text_reads_as_the_parsed_read,
    a_thousand_event_append_is_one_quick_transaction,
    concurrent_writers_and_a_catch_up_reader,
    an_append_dropped_half_way_is_all_or_nothing_and_the_log_stays_writable,
);

async fn appends_are_read_in_position_order(log: Arc<dyn EventLog>) {
    let batches = vec![
        vec![ev("a", 1), ev("b", 1)],
        vec![ev("a", 2)],
        vec![ev("c", 1), ev("b", 2), ev("a", 3)],
    ];
    for batch in &batches {
        log.append(batch.clone()).await.expect("append");
    }
    let appended: Vec<NewEvent> = batches.into_iter().flatten().collect();
    let all = log.read_after(0, 100).await.unwrap();
    assert_eq!(all.len(), appended.len());
    for (i, (stored, new)) in all.iter().zip(&appended).enumerate() {
        assert_eq!(stored.position, i as u64 + 1);
        assert!(same_event(stored, new), "{stored:?} != {new:?}");
    }
    let page = log.read_after(2, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![3, 4]
    );
    assert!(log.read_after(6, 10).await.unwrap().is_empty());
    assert!(log.read_after(0, 0).await.unwrap().is_empty());
    assert!(log.read_after(u64::MAX, 10).await.unwrap().is_empty());
    log.append(vec![])
        .await
        .expect("an empty append is a no-op");
    assert_eq!(log.read_after(0, 100).await.unwrap().len(), 6);
}

async fn a_conflict_writes_nothing_of_its_batch(log: Arc<dyn EventLog>) {
    log.append(vec![ev("a", 1), ev("b", 1)]).await.unwrap();
    let refused = log
        .append(vec![
            ev("c", 1),
            step("b", 2, "invite", Some("acc"), t0()),
            ev("a", 1),
        ])
        .await;
    assert!(is_conflict_on(refused, "a"));
    assert_eq!(log.read_after(0, 100).await.unwrap().len(), 2);
    assert!(log.load(LEAD, "c").await.unwrap().is_empty());
    assert_eq!(log.load(LEAD, "b").await.unwrap().len(), 1);
    assert!(log
        .sender_actions(&AccountId::new("acc"), t0() - Duration::days(1))
        .await
        .unwrap()
        .is_empty());
    // The refused batch left no hole: the next append takes the next positions.
    log.append(vec![ev("c", 1), ev("b", 2), ev("a", 2)])
        .await
        .unwrap();
    let positions: Vec<u64> = log
        .read_after(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(positions, vec![1, 2, 3, 4, 5]);
}

async fn conflicts_are_detected(log: Arc<dyn EventLog>) {
    log.append(vec![ev("a", 1), ev("a", 2)]).await.unwrap();
    assert!(
        is_conflict_on(log.append(vec![ev("a", 2)]).await, "a"),
        "stale"
    );
    assert!(
        is_conflict_on(log.append(vec![ev("a", 4)]).await, "a"),
        "gap"
    );
    assert!(
        is_conflict_on(log.append(vec![ev("b", 2)]).await, "b"),
        "new aggregate not at 1"
    );
    assert!(
        is_conflict_on(log.append(vec![ev("b", 1), ev("b", 3)]).await, "b"),
        "gap in batch"
    );
    assert!(
        is_conflict_on(log.append(vec![ev("b", 1), ev("b", 1)]).await, "b"),
        "twice in batch"
    );
    assert!(
        is_conflict_on(log.append(vec![ev("b", 1), ev("a", 1)]).await, "a"),
        "second aggregate"
    );
    // The same id under another aggregate type is another stream.
    let other = NewEvent {
        aggregate_type: "SenderAccount".into(),
        ..ev("a", 1)
    };
    log.append(vec![other, ev("a", 3)])
        .await
        .expect("both streams continue");
    assert_eq!(log.read_after(0, 100).await.unwrap().len(), 4);
}

async fn load_returns_one_aggregate_in_sequence_order(log: Arc<dyn EventLog>) {
    log.append(vec![ev("x", 1), ev("y", 1)]).await.unwrap();
    log.append(vec![
        NewEvent {
            aggregate_type: "SenderAccount".into(),
            ..ev("x", 1)
        },
        ev("x", 2),
    ])
    .await
    .unwrap();
    log.append(vec![ev("y", 2), ev("x", 3)]).await.unwrap();
    let x = log.load(LEAD, "x").await.unwrap();
    assert_eq!(
        x.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        x.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 4, 6]
    );
    assert!(x
        .iter()
        .all(|e| e.aggregate_type == LEAD && e.aggregate_id == "x"));
    assert_eq!(log.load("SenderAccount", "x").await.unwrap().len(), 1);
    assert!(log.load(LEAD, "nobody").await.unwrap().is_empty());
}

async fn sender_actions_filter_by_account_and_time(log: Arc<dyn EventLog>) {
    let acc1 = AccountId::new("acc-1");
    let acc2 = AccountId::new("acc-2");
    // Half a microsecond past a microsecond boundary: finer than PostgreSQL's timestamps.
    let t1 = t0() + Duration::nanoseconds(1_000_500);
    let t2 = t0() + Duration::hours(20);
    let mut invite_sent = ev("l1", 3);
    invite_sent.event_type = "InviteSent".into();
    invite_sent.payload = json!({ "account_id": "acc-1", "action": "invite", "at": t1 });
    log.append(vec![
        step("l1", 1, "invite", Some("acc-1"), t0()),
        step("l2", 1, "email", None, t1),
        step("l3", 1, "invite", Some("acc-2"), t2),
    ])
    .await
    .unwrap();
    log.append(vec![
        step("l1", 2, "message", Some("acc-1"), t1),
        invite_sent,
    ])
    .await
    .unwrap();

    let all = log
        .sender_actions(&acc1, t0() - Duration::days(7))
        .await
        .unwrap();
    let seen: Vec<(Action, DateTime<Utc>)> = all.iter().map(|a| (a.action, a.at)).collect();
    assert_eq!(seen, vec![(Action::Invite, t0()), (Action::Message, t1)]);
    assert!(all.iter().all(|a| a.account_id == acc1));

    let since_t0 = log.sender_actions(&acc1, t0()).await.unwrap();
    assert_eq!(since_t0.len(), 2, "`since` is inclusive");
    let after_t0 = log
        .sender_actions(&acc1, t0() + Duration::nanoseconds(1))
        .await
        .unwrap();
    assert_eq!(after_t0.iter().map(|a| a.at).collect::<Vec<_>>(), vec![t1]);
    let just_after_t1 = log
        .sender_actions(&acc1, t1 + Duration::nanoseconds(200))
        .await
        .unwrap();
    assert!(
        just_after_t1.is_empty(),
        "{just_after_t1:?} started before `since`"
    );
    let acc2_actions = log.sender_actions(&acc2, t0()).await.unwrap();
    assert_eq!(acc2_actions.len(), 1);
    assert_eq!(
        (acc2_actions[0].action, acc2_actions[0].at),
        (Action::Invite, t2)
    );
    assert!(log
        .sender_actions(&AccountId::new("acc-3"), t0())
        .await
        .unwrap()
        .is_empty());
}

async fn payloads_round_trip_exactly(log: Arc<dyn EventLog>) {
    let payloads = vec![
        json!({ "text": "Grüße, 你好, emoji 🚀, \"quotes\", back\\slash,\nnew line\ttab" }),
        json!({ "big": u64::MAX, "small": i64::MIN, "float": 1.5e-7, "zero": 0 }),
        json!({ "nested": { "list": [1, "two", null, true, { "deep": [] }] }, "empty": "" }),
        json!(["a", 1]),
        json!(null),
        json!("just a string"),
    ];
    let events: Vec<NewEvent> = payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| NewEvent {
            payload: payload.clone(),
            ..ev("p", i as u64 + 1)
        })
        .collect();
    log.append(events).await.unwrap();
    let back: Vec<Value> = log
        .load(LEAD, "p")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect();
    assert_eq!(back, payloads);
}

/// `read_text_after` gives `read_after`'s events, page by page, each payload as text that parses
/// to the same JSON (the views' rebuild decodes it straight into events).
async fn payload_text_reads_as_the_parsed_read(log: Arc<dyn EventLog>) {
    let payloads = [
        json!({ "text": "Grüße, 你好, emoji 🚀, \"quotes\", back\\slash,\nnew line" }),
        json!({ "big": u64::MAX, "small": i64::MIN, "float": 1.5e-7 }),
        json!({ "nested": { "list": [1, "two", null, true] }, "empty": "" }),
    ];
    let events: Vec<NewEvent> = payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| NewEvent {
            payload: payload.clone(),
            ..ev("t", i as u64 + 1)
        })
        .collect();
    log.append(vec![ev("u", 1)]).await.unwrap();
    log.append(events).await.unwrap();
    for (after, limit) in [(0, 100), (1, 2), (3, 1), (4, 10), (0, 0)] {
        let parsed = log.read_after(after, limit).await.unwrap();
        let text = log.read_text_after(after, limit).await.unwrap();
        assert_eq!(text.len(), parsed.len(), "after {after}, limit {limit}");
        for (t, p) in text.iter().zip(&parsed) {
            let payload: Value = serde_json::from_str(&t.payload).unwrap();
            assert_eq!(payload, p.payload);
            assert_eq!(
                (t.position, &t.aggregate_type, &t.aggregate_id, t.sequence),
                (p.position, &p.aggregate_type, &p.aggregate_id, p.sequence)
            );
            assert_eq!(
                (&t.event_type, &t.event_version),
                (&p.event_type, &p.event_version)
            );
        }
    }
}

async fn a_thousand_event_append_is_one_quick_transaction(log: Arc<dyn EventLog>) {
    let events: Vec<NewEvent> = (0..1_000u64)
        .map(|i| {
            let id = format!("lead-{}", i % 250);
            let sequence = i / 250 + 1;
            if i % 10 == 0 {
                step(
                    &id,
                    sequence,
                    "invite",
                    Some("bulk"),
                    t0() + Duration::seconds(i as i64),
                )
            } else {
                ev(&id, sequence)
            }
        })
        .collect();
    let started = std::time::Instant::now();
    log.append(events.clone()).await.unwrap();
    let took = started.elapsed();
    // Generous for a shared machine and a debug build; per-row statements take far longer.
    assert!(
        took < std::time::Duration::from_secs(3),
        "1,000 events took {took:?}"
    );
    let all = everything(log.as_ref()).await;
    assert_eq!(all.len(), 1_000);
    assert!(all.iter().zip(&events).all(|(s, n)| same_event(s, n)));
    assert_eq!(
        log.sender_actions(&AccountId::new("bulk"), t0())
            .await
            .unwrap()
            .len(),
        100
    );
}

async fn concurrent_writers_and_a_catch_up_reader(log: Arc<dyn EventLog>) {
    const WRITERS: u64 = 8;
    const APPENDS: u64 = 200;
    let hot_appends = WRITERS * APPENDS / 10;

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let log = log.clone();
        writers.push(tokio::spawn(async move {
            for n in 1..=APPENDS {
                // Two events per append, on two leads of this writer's own.
                let batch = vec![ev(&format!("w{w}-a"), n), ev(&format!("w{w}-b"), n)];
                log.append(batch).await.expect("own leads never conflict");
                if n % 10 == 0 {
                    // One aggregate that every writer appends to: optimistic retries.
                    loop {
                        let next = log.load("Hot", "hot").await.unwrap().len() as u64 + 1;
                        let event = NewEvent {
                            aggregate_type: "Hot".into(),
                            ..ev("hot", next)
                        };
                        match log.append(vec![event]).await {
                            Ok(()) => break,
                            Err(StoreError::Conflict { .. }) => continue,
                            Err(e) => panic!("hot append failed: {e}"),
                        }
                    }
                }
            }
        }));
    }

    let total = (WRITERS * APPENDS * 2 + hot_appends) as usize;
    let reader = {
        let log = log.clone();
        tokio::spawn(async move {
            let mut seen: Vec<StoredEvent> = Vec::new();
            let mut checkpoint = 0;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while seen.len() < total {
                assert!(
                    std::time::Instant::now() < deadline,
                    "reader stalled at {checkpoint}"
                );
                let page = log.read_after(checkpoint, 37).await.expect("read");
                for event in page {
                    assert_eq!(
                        event.position,
                        checkpoint + 1,
                        "skipped or repeated a position"
                    );
                    checkpoint = event.position;
                    seen.push(event);
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    for writer in writers {
        writer.await.unwrap();
    }
    let seen = reader.await.unwrap();

    let table = everything(log.as_ref()).await;
    assert_eq!(seen, table, "the reader saw exactly the final log");
    let keys: HashSet<(String, String, u64)> = seen
        .iter()
        .map(|e| (e.aggregate_type.clone(), e.aggregate_id.clone(), e.sequence))
        .collect();
    assert_eq!(keys.len(), total, "every event exactly once");
    let hot: Vec<u64> = log
        .load("Hot", "hot")
        .await
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(hot, (1..=hot_appends).collect::<Vec<_>>());
    for w in 0..WRITERS {
        let a = log.load(LEAD, &format!("w{w}-a")).await.unwrap();
        assert_eq!(a.len() as u64, APPENDS);
        assert!(a.windows(2).all(|p| p[0].position < p[1].position));
    }
}

// ---------------------------------------------------------------------------------------------
// What only the SQL stores promise.

sql_stores!(
    opening_twice_is_idempotent,
    a_foreign_database_is_refused_untouched,
    a_newer_schema_is_refused,
    cqrs_es_reads_the_events_table,
);

async fn open(place: &Place) -> Store {
    open_store(&place.url()).await.expect("open store")
}

/// Runs one statement on the store's own database.
async fn execute(kind: Sql, place: &Place, sql: &str) {
    match kind {
        Sql::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", place.url()))
                .await
                .expect("sqlite");
            sqlx::raw_sql(sql).execute(&pool).await.expect(sql);
            pool.close().await;
        }
        Sql::Postgres => {
            let pool = sqlx::PgPool::connect(&place.url()).await.expect("pg");
            sqlx::raw_sql(sql).execute(&pool).await.expect(sql);
            pool.close().await;
        }
    }
}

async fn opening_twice_is_idempotent(kind: Sql, place: Arc<Place>) {
    let first = open(&place).await;
    first.event_log().append(vec![ev("a", 1)]).await.unwrap();
    let second = open(&place).await;
    let log = second.event_log();
    assert_eq!(log.read_after(0, 10).await.unwrap().len(), 1);
    log.append(vec![ev("a", 2)]).await.unwrap();
    assert_eq!(first.event_log().load(LEAD, "a").await.unwrap().len(), 2);
    first.close().await;
    second.close().await;
    let count: i64 = match open(&place).await {
        Store::Sqlite(log) => sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(log.reader())
            .await
            .unwrap(),
        Store::Postgres(log) => sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(log.pool())
            .await
            .unwrap(),
    };
    assert_eq!(
        count,
        migration_count(kind),
        "{kind:?}: each migration applied once"
    );
}

/// How many migrations this build ships for `kind` (numbered 1..=N): every one must be applied,
/// and N is the newest schema the binary knows.
fn migration_count(kind: Sql) -> i64 {
    let dir = match kind {
        Sql::Sqlite => "sqlite",
        Sql::Postgres => "postgres",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    std::fs::read_dir(path)
        .expect("migrations folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as i64
}

async fn a_foreign_database_is_refused_untouched(kind: Sql, place: Arc<Place>) {
    // cqrs-es's own table, without our position: another application's event store.
    execute(
        kind,
        &place,
        "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
         sequence integer NOT NULL, event_type text NOT NULL, event_version text NOT NULL, \
         payload text NOT NULL, metadata text NOT NULL, \
         PRIMARY KEY (aggregate_type, aggregate_id, sequence)); \
         CREATE TABLE customers (id integer PRIMARY KEY)",
    )
    .await;
    let refused = open_store(&place.url()).await;
    let Err(StoreOpenError::ForeignSchema { tables, .. }) = &refused else {
        panic!(
            "{kind:?}: a foreign database must be refused, got {:?}",
            refused.map(|_| ())
        );
    };
    assert_eq!(tables, &vec!["customers".to_string(), "events".to_string()]);
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("another application"), "{message}");
    // Nothing was created beside the foreign tables.
    execute(kind, &place, "CREATE TABLE plera_schema (x integer)").await;
    execute(kind, &place, "CREATE TABLE _sqlx_migrations (x integer)").await;
}

async fn a_newer_schema_is_refused(kind: Sql, place: Arc<Place>) {
    open(&place).await.close().await;
    let (success, checksum) = match kind {
        Sql::Sqlite => ("1", "x'00'"),
        Sql::Postgres => ("true", "'\\x00'::bytea"),
    };
    execute(
        kind,
        &place,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (99990101000000, 'from the future', {success}, {checksum}, 1)"
        ),
    )
    .await;
    match open_store(&place.url()).await {
        Err(StoreOpenError::NewerSchema { found, known, .. }) => {
            assert_eq!(found, 99990101000000);
            assert_eq!(known, migration_count(kind));
        }
        other => panic!(
            "{kind:?}: a newer schema must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
}

/// A minimal aggregate, only so that cqrs-es can name a type and deserialize its events.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Noting {
    total: u64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum NotingEvent {
    Noted { id: String, n: u64 },
}

impl cqrs_es::DomainEvent for NotingEvent {
    fn event_type(&self) -> String {
        "Noted".into()
    }
    fn event_version(&self) -> String {
        "1.0".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl cqrs_es::Aggregate for Noting {
    const TYPE: &'static str = LEAD;
    type Command = ();
    type Event = NotingEvent;
    type Error = Never;
    type Services = ();

    async fn handle(
        &mut self,
        _command: (),
        _services: &(),
        _sink: &cqrs_es::event_sink::EventSink<Self>,
    ) -> Result<(), Never> {
        Ok(())
    }

    fn apply(&mut self, event: NotingEvent) {
        let NotingEvent::Noted { n, .. } = event;
        self.total += n;
    }
}

async fn cqrs_es_reads_the_events_table(kind: Sql, place: Arc<Place>) {
    use cqrs_es::persist::PersistedEventStore;
    use cqrs_es::EventStore;

    let store = open(&place).await;
    let log = store.event_log();
    log.append(vec![ev("n", 1), ev("other", 1)]).await.unwrap();
    log.append(vec![ev("n", 2), ev("n", 3)]).await.unwrap();
    let envelopes = match &store {
        Store::Sqlite(log) => {
            let repo = sqlite_es::SqliteEventRepository::new(log.reader().clone());
            PersistedEventStore::<_, Noting>::new_event_store(repo)
                .load_events("n")
                .await
        }
        Store::Postgres(log) => {
            let repo = postgres_es::PostgresEventRepository::new(log.pool().clone());
            PersistedEventStore::<_, Noting>::new_event_store(repo)
                .load_events("n")
                .await
        }
    }
    .unwrap_or_else(|e| panic!("{kind:?}: cqrs-es cannot read our table: {e}"));
    let read: Vec<(usize, NotingEvent)> = envelopes
        .into_iter()
        .map(|e| (e.sequence, e.payload))
        .collect();
    let expected: Vec<(usize, NotingEvent)> = (1..=3)
        .map(|n| (n as usize, NotingEvent::Noted { id: "n".into(), n }))
        .collect();
    assert_eq!(read, expected);
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// One store at a time.

#[tokio::test]
async fn a_reopened_sqlite_file_reads_everything_back() {
    in_place(Sql::Sqlite, |place| async move {
        let store = open(&place).await;
        let log = store.event_log();
        log.append(vec![ev("a", 1), step("b", 1, "invite", Some("acc"), t0())])
            .await
            .unwrap();
        log.append(vec![ev("a", 2)]).await.unwrap();
        let before = everything(log.as_ref()).await;
        store.close().await;

        let store = open(&place).await;
        let log = store.event_log();
        assert_eq!(everything(log.as_ref()).await, before);
        let actions = log
            .sender_actions(&AccountId::new("acc"), t0())
            .await
            .unwrap();
        assert_eq!(actions.len(), 1);
        assert!(is_conflict_on(log.append(vec![ev("a", 2)]).await, "a"));
        log.append(vec![ev("a", 3)]).await.unwrap();
        assert_eq!(log.read_after(3, 10).await.unwrap()[0].position, 4);
        store.close().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sqlite_stores_on_one_file_interleave_safely() {
    // Two processes on one file, as far as SQLite can tell: each store has its own writer.
    in_place(Sql::Sqlite, |place| async move {
        let stores = [open(&place).await, open(&place).await];
        let mut tasks = Vec::new();
        for (s, store) in stores.iter().enumerate() {
            for w in 0..3 {
                let log = store.event_log();
                tasks.push(tokio::spawn(async move {
                    for n in 1..=60 {
                        log.append(vec![ev(&format!("s{s}w{w}"), n)])
                            .await
                            .expect("append");
                    }
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        let all = everything(stores[0].event_log().as_ref()).await;
        assert_eq!(all.len(), 2 * 3 * 60);
        assert!(all
            .iter()
            .enumerate()
            .all(|(i, e)| e.position == i as u64 + 1));
        for store in &stores {
            store.close().await;
        }
    })
    .await
}

#[tokio::test]
async fn a_corrupt_sqlite_payload_is_an_error_not_a_short_read() {
    in_place(Sql::Sqlite, |place| async move {
        let store = open(&place).await;
        let log = store.event_log();
        log.append(vec![ev("a", 1), ev("a", 2), ev("a", 3)])
            .await
            .unwrap();
        let Store::Sqlite(sqlite) = &store else {
            unreachable!("a sqlite URL opens a sqlite store")
        };
        sqlx::query("UPDATE events SET payload = '{broken' WHERE position = 2")
            .execute(sqlite.writer())
            .await
            .unwrap();
        assert!(matches!(
            log.read_after(0, 10).await,
            Err(StoreError::Corrupt { position: 2, .. })
        ));
        assert!(matches!(
            log.load(LEAD, "a").await,
            Err(StoreError::Corrupt { position: 2, .. })
        ));
        // Text that is not UTF-8 (a STRICT text column holds it) is named by its row too, in
        // both reads the rebuild and the engine use.
        sqlx::query("UPDATE events SET payload = CAST(x'7bff7d' AS TEXT) WHERE position = 2")
            .execute(sqlite.writer())
            .await
            .unwrap();
        assert!(matches!(
            log.read_text_after(0, 10).await,
            Err(StoreError::Corrupt { position: 2, .. })
        ));
        assert!(matches!(
            log.read_after(1, 10).await,
            Err(StoreError::Corrupt { position: 2, .. })
        ));
        // The reads before it still answer, on the same connections.
        assert_eq!(log.read_text_after(0, 1).await.unwrap().len(), 1);
        store.close().await;
    })
    .await
}

/// Reads dropped while their blocking step may still hold the connection locked out of sqlx's
/// worker, on a file and in memory (where the reader is the writer's one connection): every
/// later read and append still answers, and reads everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_dropped_half_way_leave_the_store_usable() {
    async fn check(store: Store) {
        let log = store.event_log();
        let first: Vec<NewEvent> = (1..=2_000).map(|n| ev("a", n)).collect();
        log.append(first).await.unwrap();
        for i in 0..40u64 {
            // Dropped at once, after its first step, or part way through stepping the rows.
            let read = log.read_text_after(0, 2_000);
            let _ = tokio::time::timeout(std::time::Duration::from_micros(i * 25), read).await;
        }
        // A guard against a connection left locked (every later call would wait forever), far
        // above what these calls take.
        let after = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            log.append(vec![ev("a", 2_001)]).await.unwrap();
            (
                log.read_text_after(0, 5_000).await.unwrap().len(),
                log.read_after(1_990, 5_000).await.unwrap().len(),
            )
        })
        .await
        .expect("the store answers after dropped reads");
        assert_eq!(after, (2_001, 11));
        store.close().await;
    }
    check(open_store("sqlite::memory:").await.expect("open")).await;
    in_place(Sql::Sqlite, |place| async move {
        check(open(&place).await).await
    })
    .await;
}

#[tokio::test]
async fn an_in_memory_sqlite_store_works_and_is_private() {
    let one = open_store("sqlite::memory:").await.expect("open");
    let two = open_store("sqlite::memory:").await.expect("open");
    one.event_log().append(vec![ev("a", 1)]).await.unwrap();
    assert_eq!(one.event_log().read_after(0, 10).await.unwrap().len(), 1);
    assert!(two.event_log().read_after(0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_and_unreachable_urls_are_refused() {
    assert!(matches!(
        open_store("mysql://root@localhost/plera").await,
        Err(StoreOpenError::BadUrl { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = format!("sqlite://{}/no/such/dir/plera.db", dir.path().display());
    assert!(matches!(
        open_store(&missing_dir).await,
        Err(StoreOpenError::Unreachable { .. })
    ));
    let refused = open_store("postgres://plera:hunter2@127.0.0.1:1/plera").await;
    let Err(error @ StoreOpenError::Unreachable { .. }) = refused else {
        panic!("nothing listens on port 1");
    };
    let message = error.to_string();
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("plera:***@127.0.0.1:1"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_errors_are_returned_without_the_password() {
    in_place(Sql::Postgres, |place| async move {
        let store = open_store(&place.url_with_password(Some("hunter2")))
            .await
            .expect("the local server trusts the password");
        let log = store.event_log();
        log.append(vec![ev("a", 1)]).await.unwrap();
        execute(
            Sql::Postgres,
            &place,
            "ALTER TABLE events RENAME TO events_gone",
        )
        .await;
        for result in [
            log.read_after(0, 10).await.map(|_| ()),
            log.append(vec![ev("a", 2)]).await,
        ] {
            let Err(StoreError::Backend(message)) = result else {
                panic!("a missing table is a backend error, got {result:?}");
            };
            assert!(!message.contains("hunter2"), "{message}");
        }
        store.close().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_writer_that_bypasses_the_lock_still_causes_a_conflict() {
    in_place(Sql::Postgres, |place| async move {
        let store = open(&place).await;
        let log = store.event_log();
        // An outside writer holds an uncommitted `a`#1 (position 1000) without the append lock.
        let mut outsider = sqlx::PgConnection::connect(&place.url()).await.unwrap();
        let outsider_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut outsider)
            .await
            .unwrap();
        let mut outside_tx = outsider.begin().await.unwrap();
        sqlx::query(
            "INSERT INTO events VALUES \
             ('LeadSequence', 'a', 1, 'Noted', '1.0', '{}', '{}', 1000)",
        )
        .execute(&mut *outside_tx)
        .await
        .unwrap();
        let append = {
            let log = log.clone();
            tokio::spawn(async move { log.append(vec![ev("b", 1), ev("a", 1)]).await })
        };
        // Wait until our append is blocked on the outsider's row, then let the outsider commit.
        let admin = sqlx::PgPool::connect(&place.url()).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let blocked: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity \
                 WHERE $1 = ANY (pg_blocking_pids(pid)))",
            )
            .bind(outsider_pid)
            .fetch_one(&admin)
            .await
            .unwrap();
            if blocked {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "append never blocked");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        outside_tx.commit().await.unwrap();
        let result = append.await.unwrap();
        assert!(is_conflict_on(result.clone(), "a"), "got {result:?}");
        assert!(
            log.load(LEAD, "b").await.unwrap().is_empty(),
            "all or nothing"
        );
        admin.close().await;
        let _ = outsider.close().await;
        store.close().await;
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The lead directory beside the log.

/// Runs one directory case against a fresh directory of `backend` (a SQL one is its store's).
async fn directory<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Arc<dyn LeadDirectory>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Memory => case(Arc::new(MemoryLeadDirectory::default())).await,
        Backend::Sql(kind) => {
            in_place(kind, |place| async move {
                let store = open_store(&place.url()).await.expect("open store");
                case(store.lead_directory()).await;
                store.close().await;
            })
            .await
        }
    }
}

/// One test per backend for each directory case.
macro_rules! directory {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                directory(Backend::Memory, super::$case).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                directory(Backend::Sql(Sql::Sqlite), super::$case).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                directory(Backend::Sql(Sql::Postgres), super::$case).await
            }
        }
    )*};
}

directory!(
    many_profiles_are_put_at_once,
    a_profile_reads_back_as_it_was_put,
    putting_again_replaces_the_whole_profile,
    profiles_are_per_workspace_and_lead,
    many_profiles_are_read_at_once,
);

/// A profile with text that trips naive quoting and encodings.
fn awkward_profile() -> LeadProfile {
    LeadProfile::new("Zoë", "O'Brien", "Acme \"Labs\" — 東京")
        .with_var("note", "line one\nline two\t{{not a var}}")
        .with_var("empty", "")
        .with_email("zoe.obrien+plera@example.com")
}

async fn many_profiles_are_put_at_once(dir: Arc<dyn LeadDirectory>) {
    let ws = WorkspaceId::new("ws");
    let profiles: Vec<(LeadId, LeadProfile)> = (0..50)
        .map(|i| {
            let p = LeadProfile::new(&format!("F{i}"), "L", "C");
            (LeadId::new(format!("l-{i}")), p)
        })
        .chain([(LeadId::new("odd"), awkward_profile())])
        .collect();
    dir.put_many(&ws, profiles.clone()).await.unwrap();
    for (lead, profile) in profiles {
        assert_eq!(dir.get(&ws, &lead).await, Ok(Some(profile)));
    }
}

async fn a_profile_reads_back_as_it_was_put(dir: Arc<dyn LeadDirectory>) {
    let (ws, lead) = (WorkspaceId::new("ws"), LeadId::new("l-1"));
    assert_eq!(dir.get(&ws, &lead).await, Ok(None));
    dir.put(&ws, &lead, awkward_profile()).await.unwrap();
    assert_eq!(dir.get(&ws, &lead).await, Ok(Some(awkward_profile())));
    let no_email = LeadProfile::new("Ada", "Lovelace", "Analytical");
    dir.put(&ws, &LeadId::new("l-2"), no_email.clone())
        .await
        .unwrap();
    assert_eq!(dir.get(&ws, &LeadId::new("l-2")).await, Ok(Some(no_email)));
}

async fn putting_again_replaces_the_whole_profile(dir: Arc<dyn LeadDirectory>) {
    let (ws, lead) = (WorkspaceId::new("ws"), LeadId::new("l-1"));
    dir.put(&ws, &lead, awkward_profile()).await.unwrap();
    // Variables and email the new profile lacks are gone, not merged.
    let replacement = LeadProfile::default().with_var("first_name", "Grace");
    dir.put(&ws, &lead, replacement.clone()).await.unwrap();
    assert_eq!(dir.get(&ws, &lead).await, Ok(Some(replacement)));
}

async fn profiles_are_per_workspace_and_lead(dir: Arc<dyn LeadDirectory>) {
    let lead = LeadId::new("shared-id");
    let one = LeadProfile::new("One", "A", "X");
    let two = LeadProfile::new("Two", "B", "Y").with_email("two@example.com");
    dir.put(&WorkspaceId::new("ws-1"), &lead, one.clone())
        .await
        .unwrap();
    dir.put(&WorkspaceId::new("ws-2"), &lead, two.clone())
        .await
        .unwrap();
    assert_eq!(
        dir.get(&WorkspaceId::new("ws-1"), &lead).await,
        Ok(Some(one))
    );
    assert_eq!(
        dir.get(&WorkspaceId::new("ws-2"), &lead).await,
        Ok(Some(two))
    );
    assert_eq!(
        dir.get(&WorkspaceId::new("ws-1"), &LeadId::new("other"))
            .await,
        Ok(None)
    );
}

/// `get_many` answers what `get` answers for each lead, within one workspace, in one call.
async fn many_profiles_are_read_at_once(dir: Arc<dyn LeadDirectory>) {
    let (ws, other) = (WorkspaceId::new("ws"), WorkspaceId::new("ws-2"));
    let profiles: Vec<(LeadId, LeadProfile)> = (0..40)
        .map(|i| {
            let p = LeadProfile::new(&format!("F{i}"), "L", "C");
            (LeadId::new(format!("l-{i}")), p)
        })
        .chain([(LeadId::new("o'dd \"one\""), awkward_profile())])
        .collect();
    dir.put_many(&ws, profiles.clone()).await.unwrap();
    dir.put(&other, &LeadId::new("elsewhere"), awkward_profile())
        .await
        .unwrap();
    let mut asked: Vec<LeadId> = profiles.iter().map(|(l, _)| l.clone()).collect();
    asked.push(LeadId::new("unknown"));
    asked.push(LeadId::new("elsewhere"));
    let got = dir.get_many(&ws, &asked).await.unwrap();
    assert_eq!(
        got.len(),
        profiles.len(),
        "absent and other workspaces' leads left out"
    );
    for (lead, profile) in profiles {
        assert_eq!(got.get(&lead), Some(&profile), "{lead}");
    }
    assert!(dir.get_many(&ws, &[]).await.unwrap().is_empty());
}

sql_stores!(
    profiles_survive_reopening_the_store,
    a_malformed_stored_profile_is_an_error_naming_the_lead,
);

async fn profiles_survive_reopening_the_store(_kind: Sql, place: Arc<Place>) {
    let (ws, lead) = (WorkspaceId::new("ws"), LeadId::new("l-1"));
    let store = open(&place).await;
    store
        .lead_directory()
        .put(&ws, &lead, awkward_profile())
        .await
        .unwrap();
    store.close().await;
    let store = open(&place).await;
    assert_eq!(
        store.lead_directory().get(&ws, &lead).await,
        Ok(Some(awkward_profile()))
    );
    store.close().await;
}

async fn a_malformed_stored_profile_is_an_error_naming_the_lead(kind: Sql, place: Arc<Place>) {
    let store = open(&place).await;
    // Valid JSON, but not an object of strings: rendering from it must not go ahead.
    execute(
        kind,
        &place,
        r#"INSERT INTO lead_profiles (workspace_id, lead_id, vars, email)
           VALUES ('ws', 'l-bad', '{"first_name": 7}', NULL)"#,
    )
    .await;
    let error = store
        .lead_directory()
        .get(&WorkspaceId::new("ws"), &LeadId::new("l-bad"))
        .await
        .expect_err("a malformed profile is an error");
    assert!(error.contains("l-bad"), "{error}");
    let error = store
        .lead_directory()
        .get_many(&WorkspaceId::new("ws"), &[LeadId::new("l-bad")])
        .await
        .expect_err("a malformed profile fails get_many too");
    assert!(error.contains("l-bad"), "{error}");
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// Leases (issue 10): the memory log and PostgreSQL keep them; SQLite runs one engine only.

/// Runs one lease case against a fresh log that keeps leases.
async fn leases<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Arc<dyn EventLog>, Arc<dyn LeaseStore>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Memory => {
            let log = Arc::new(MemoryEventLog::new());
            case(log.clone(), log).await
        }
        Backend::Sql(kind) => {
            in_place(kind, |place| async move {
                let store = open_store(&place.url()).await.expect("open store");
                let leases = store.leases().expect("this store keeps leases");
                case(store.event_log(), leases).await;
                store.close().await;
            })
            .await
        }
    }
}

macro_rules! lease_contract {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                leases(Backend::Memory, super::$case).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                leases(Backend::Sql(Sql::Postgres), super::$case).await
            }
        }
    )*};
}

lease_contract!(
    a_lease_has_one_owner_and_a_new_token_per_owner,
    a_fenced_append_fails_once_the_lease_moved,
);

async fn a_lease_has_one_owner_and_a_new_token_per_owner(
    _log: Arc<dyn EventLog>,
    leases: Arc<dyn LeaseStore>,
) {
    let ttl = Duration::minutes(10);
    let r = "sender:acc-1";
    assert_eq!(leases.acquire(r, "a", ttl, t0()).await.unwrap(), Some(1));
    // Held and live: nobody else gets it; its owner keeps its token.
    assert_eq!(leases.acquire(r, "b", ttl, t0()).await.unwrap(), None);
    assert_eq!(leases.acquire(r, "a", ttl, t0()).await.unwrap(), Some(1));
    let mine = [(r.to_string(), 1), ("sender:other".to_string(), 1)];
    assert_eq!(
        leases.renew("a", &mine, ttl, t0() + ttl / 2).await.unwrap(),
        vec![r.to_string()]
    );
    assert!(leases
        .renew("b", &mine, ttl, t0())
        .await
        .unwrap()
        .is_empty());
    let live = leases.live("sender:", t0() + ttl).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].owner.as_str(), live[0].token), ("a", 1));
    // Lapsed: taken by another owner with a greater token; the old owner cannot renew.
    let later = t0() + ttl * 2;
    assert!(leases.live("sender:", later).await.unwrap().is_empty());
    assert_eq!(leases.acquire(r, "b", ttl, later).await.unwrap(), Some(2));
    assert!(leases
        .renew("a", &mine, ttl, later)
        .await
        .unwrap()
        .is_empty());
    // Released: free at once, and the next owner's token is greater still.
    leases.release(r, "a", 1).await.unwrap();
    assert_eq!(leases.acquire(r, "c", ttl, later).await.unwrap(), None);
    leases.release(r, "b", 2).await.unwrap();
    assert_eq!(leases.acquire(r, "b", ttl, later).await.unwrap(), Some(3));
    assert_eq!(leases.live("node:", later).await.unwrap(), vec![]);
}

async fn a_fenced_append_fails_once_the_lease_moved(
    log: Arc<dyn EventLog>,
    leases: Arc<dyn LeaseStore>,
) {
    let ttl = Duration::minutes(10);
    let r = "sender:acc-1";
    let token = leases.acquire(r, "a", ttl, t0()).await.unwrap().unwrap();
    let fence = |owner: &str, token: u64| {
        Condition::Lease(Fence {
            resource: r.into(),
            owner: owner.into(),
            token,
        })
    };
    log.append_if(vec![ev("x", 1)], &[fence("a", token)])
        .await
        .expect("the owner writes");
    // A process paused past its lease: another took it, the paused one's append is refused.
    let taken = leases
        .acquire(r, "b", ttl, t0() + ttl * 2)
        .await
        .unwrap()
        .unwrap();
    let stale = log
        .append_if(vec![ev("x", 2), ev("y", 1)], &[fence("a", token)])
        .await;
    assert!(
        matches!(&stale, Err(StoreError::LeaseLost { resource }) if resource == r),
        "{stale:?}"
    );
    // Nothing of it was written; the new owner's append goes through.
    assert_eq!(everything(log.as_ref()).await.len(), 1);
    log.append_if(vec![ev("x", 2)], &[fence("b", taken)])
        .await
        .expect("the new owner writes");
    // A fence on a resource nobody holds refuses too.
    let unknown = log
        .append_if(
            vec![ev("z", 1)],
            &[Condition::Lease(Fence {
                resource: "sender:nobody".into(),
                owner: "b".into(),
                token: 1,
            })],
        )
        .await;
    assert!(matches!(unknown, Err(StoreError::LeaseLost { .. })));
    assert_eq!(everything(log.as_ref()).await.len(), 2);
    // A step may start only on the sender state its slot was granted on.
    let unchanged = |id: &str, sequence: u64| Condition::Unchanged {
        aggregate_type: LEAD.into(),
        aggregate_id: id.into(),
        sequence,
    };
    log.append_if(vec![ev("y", 1)], &[unchanged("x", 2), unchanged("n", 0)])
        .await
        .expect("x is still at 2, n has no events");
    let moved = log.append_if(vec![ev("y", 2)], &[unchanged("x", 1)]).await;
    assert!(is_conflict_on(moved, "x"));
    assert_eq!(everything(log.as_ref()).await.len(), 3);
}

/// An append whose future is dropped at any point of its way (a caller's timeout, a stopping
/// engine) stores all of its batch or none of it, and the log takes the next append: the writer
/// is never left in the middle of a transaction.
async fn an_append_dropped_half_way_is_all_or_nothing_and_the_log_stays_writable(
    log: Arc<dyn EventLog>,
) {
    const ROUNDS: u64 = 16;
    const LEADS: u64 = 30;
    const EVENTS: u64 = 300;
    for round in 0..ROUNDS {
        let batch: Vec<NewEvent> = (0..EVENTS)
            .map(|i| ev(&format!("cut-{round}-{}", i % LEADS), i / LEADS + 1))
            .collect();
        let mut append = log.append(batch);
        // Polled `round` times, the store's threads running in between, then dropped.
        for _ in 0..round {
            if let std::task::Poll::Ready(done) = futures::poll!(append.as_mut()) {
                done.expect("append");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_micros(300)).await;
        }
        drop(append);
    }
    log.append(vec![ev("after", 1)])
        .await
        .expect("the log takes the next append");
    let all = everything(log.as_ref()).await;
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, e)| e.position == i as u64 + 1),
        "positions stay gap-free"
    );
    for round in 0..ROUNDS {
        let prefix = format!("cut-{round}-");
        let n = all
            .iter()
            .filter(|e| e.aggregate_id.starts_with(&prefix))
            .count() as u64;
        assert!(
            n == 0 || n == EVENTS,
            "round {round}: {n} of {EVENTS} events stored"
        );
    }
    assert_eq!(all.last().map(|e| e.aggregate_id.as_str()), Some("after"));
}

/// An append dropped while its `BEGIN` waits for the append lock (held here by another
/// connection) must not leave its connection in the pool inside that transaction, holding the
/// lock once it is granted: every later append, of any process, would wait on it for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_append_dropped_while_waiting_for_the_lock_leaves_the_lock_free() {
    in_place(Sql::Postgres, |place| async move {
        let store = open_store(&place.url()).await.expect("open store");
        let log = store.event_log();
        log.append(vec![ev("before", 1)]).await.expect("append");
        let holder = sqlx::PgPool::connect(&pg_base_url())
            .await
            .expect("connect");
        let mut held = holder.begin().await.expect("begin");
        sqlx::query("SELECT pg_advisory_xact_lock(482854924897)")
            .execute(&mut *held)
            .await
            .expect("take the append lock");
        let mut waiting = log.append(vec![ev("dropped", 1)]);
        for _ in 0..20 {
            assert!(
                futures::poll!(waiting.as_mut()).is_pending(),
                "the append waits for the lock"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        drop(waiting);
        held.commit().await.expect("free the lock");
        holder.close().await;
        // Another process's store: it shares nothing with the first but the lock.
        let other = open_store(&place.url()).await.expect("open store");
        let next = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            other.event_log().append(vec![ev("after", 1)]),
        )
        .await;
        assert!(
            matches!(next, Ok(Ok(()))),
            "the next append takes the lock: {next:?}"
        );
        let ids: Vec<String> = log
            .read_after(0, 10)
            .await
            .expect("read")
            .into_iter()
            .map(|e| e.aggregate_id)
            .collect();
        assert_eq!(ids, ["before", "after"], "the dropped append wrote nothing");
        other.close().await;
        store.close().await;
    })
    .await;
}
