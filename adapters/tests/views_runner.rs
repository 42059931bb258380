//! The SQL views and their runner on SQLite (a temp file) and PostgreSQL (a schema of its own per
//! test, in `DATABASE_URL` or the local `test` database), over an event stream the real engine
//! wrote against the sandbox world: catching up in many runs equals one run, a restarted or a
//! concurrent runner counts nothing twice, a rebuild from position 0 gives exactly the rows the
//! incremental runner wrote, and both databases hold the same rows.

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_actors::store::{EventLog, MemoryEventLog, NewEvent, StoredEvent};
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadProfile, LeadSpec, SenderSettings, SequentialIds,
    VirtualClock,
};
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_adapters::store::{open_store, Store};
use plera_adapters::views::Views;
use plera_domain::ids::{AccountId, CampaignId, LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::play::Play;
use plera_domain::ports::{AccountStatusSignal, Clock, InboundEvent};
use plera_domain::values::{Channel, ConnectionDegree, Tier, WorkingHours};
use plera_projections::queries::{InboxFilter, ViewError, ViewQueries};
use plera_projections::rows::{KeyPart, Kind, Record, Table, Value};
use plera_projections::stage::{Outcome, Snapshot, Stage};
use plera_projections::{Decoded, Projection, ProjectionError};
use serde_json::json;
use sqlx::Connection;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

// ---------------------------------------------------------------------------------------------
// Where a fresh database lives.

fn pg_base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

static SCHEMAS: AtomicU64 = AtomicU64::new(0);

impl Place {
    async fn new(kind: Db) -> Place {
        match kind {
            Db::Sqlite => Place::Sqlite(tempfile::tempdir().expect("temp dir")),
            Db::Postgres => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let name = format!(
                    "plera_views_{}_{}_{}",
                    std::process::id(),
                    SCHEMAS.fetch_add(1, Ordering::Relaxed),
                    nanos
                );
                pg_admin(&format!("CREATE SCHEMA {name}")).await;
                Place::Postgres(name)
            }
        }
    }

    fn url(&self) -> String {
        match self {
            Place::Sqlite(dir) => format!("sqlite://{}", dir.path().join("plera.db").display()),
            Place::Postgres(schema) => {
                let mut url = url::Url::parse(&pg_base_url()).expect("DATABASE_URL is a URL");
                url.query_pairs_mut()
                    .append_pair("options[search_path]", schema);
                url.to_string()
            }
        }
    }

    async fn open(&self) -> Store {
        open_store(&self.url()).await.expect("open store")
    }

    async fn cleanup(self) {
        if let Place::Postgres(schema) = self {
            pg_admin(&format!("DROP SCHEMA {schema} CASCADE")).await;
        }
    }
}

async fn pg_admin(sql: &str) {
    let mut conn = sqlx::PgConnection::connect(&pg_base_url())
        .await
        .expect("PostgreSQL must be reachable at DATABASE_URL or 127.0.0.1:5432/test");
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    let _ = conn.close().await;
}

/// Runs `body` in a fresh place, then removes the place even if `body` panicked.
async fn in_place<F, Fut>(kind: Db, body: F)
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

// ---------------------------------------------------------------------------------------------
// A realistic stream: the real engine against the sandbox world.

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap()
}

/// The engine, its world and clock, with two senders, two campaigns and their leads.
struct Sim {
    engine: Engine,
    world: SandboxWorld,
    clock: Arc<VirtualClock>,
    ws: WorkspaceId,
    senders: BTreeMap<AccountId, SenderSettings>,
    campaigns: Vec<CampaignId>,
}

impl Sim {
    async fn start(log: Arc<dyn EventLog>, seed: u64) -> Sim {
        Self::start_with(log, seed, None).await
    }

    async fn start_with(
        log: Arc<dyn EventLog>,
        seed: u64,
        views: Option<Arc<dyn ViewQueries>>,
    ) -> Sim {
        let clock = Arc::new(VirtualClock::new(monday()));
        // Generous rates, so that a small run has every kind of event.
        let config = SandboxConfig {
            acceptance_rate: 0.6,
            reply_rate_after_accept_with_note: 0.3,
            reply_rate_after_accept_without_note: 0.3,
            dm_reply_rate: 0.3,
            email_reply_rate: 0.3,
            out_of_office_rate: 0.2,
            session_expiry_per_account_day: 0.05,
            fault_rate: 0.05,
            ..SandboxConfig::seeded(seed)
        };
        let world = SandboxWorld::new(config, clock.clone());
        let mut builder = Engine::builder();
        if let Some(views) = views {
            builder = builder.views(views);
        }
        let engine = builder
            .event_log(log)
            .linkedin(Arc::new(world.clone()))
            .email(Arc::new(world.clone()))
            .clock(clock.clone())
            .ids(Arc::new(SequentialIds::default()))
            .seed(seed)
            .deterministic_tokens()
            .build()
            .await
            .expect("engine");
        let mut sim = Sim {
            engine,
            world,
            clock,
            ws: WorkspaceId::new("ws"),
            senders: BTreeMap::new(),
            campaigns: Vec::new(),
        };
        let paris = sim
            .connect("li-paris", Tier::Premium, chrono_tz::Europe::Paris, false)
            .await;
        let ny = sim
            .connect("li-ny", Tier::Free, chrono_tz::America::New_York, true)
            .await;
        sim.engine
            .register_mailbox(&sim.ws, &"mb".into(), "sales@acme.io")
            .await
            .expect("mailbox");
        for (id, play, senders) in [
            (
                "spring",
                Play::linkedin_first(),
                vec![paris.clone(), ny.clone()],
            ),
            ("summer", Play::email_first(), vec![paris.clone()]),
        ] {
            let campaign = sim
                .engine
                .create_campaign(
                    &sim.ws,
                    CampaignSpec {
                        id: Some(CampaignId::new(id)),
                        name: format!("{id} outreach"),
                        play,
                        senders,
                        mailbox: Some("mb".into()),
                    },
                )
                .await
                .expect("campaign");
            sim.campaigns.push(campaign);
        }
        let campaigns = sim.campaigns.clone();
        sim.enroll(&campaigns[0], "a", 24).await;
        sim.enroll(&campaigns[1], "b", 12).await;
        sim
    }

    async fn connect(
        &mut self,
        provider: &str,
        tier: Tier,
        timezone: chrono_tz::Tz,
        warm_up: bool,
    ) -> AccountId {
        let settings = SenderSettings {
            tier,
            limits: None,
            timezone,
            working_hours: WorkingHours::parse("08:00", "19:00").expect("hours"),
            warm_up,
        };
        let link = self
            .engine
            .start_connection(&self.ws, &OwnerId::new("alice"), None)
            .await
            .expect("link");
        let account = self
            .engine
            .complete_connection(
                &link.state,
                &ProviderAccountId::new(provider),
                settings.clone(),
            )
            .await
            .expect("connect");
        self.world.add_account_in(
            account.clone(),
            ProviderAccountId::new(provider),
            tier,
            timezone,
        );
        self.senders.insert(account.clone(), settings);
        account
    }

    async fn enroll(&mut self, campaign: &CampaignId, prefix: &str, n: usize) {
        let mut specs = Vec::new();
        for i in 0..n {
            let lead = LeadId::new(format!("{prefix}-{i}"));
            let email = format!("{prefix}{i}@example.com");
            self.world.add_lead(
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
        self.engine
            .enroll_many(&self.ws, campaign, specs, EnrollOptions::default())
            .await
            .expect("enroll");
    }

    /// Runs world and engine for `days`, delivering the world's notifications.
    async fn run_days(&mut self, days: i64) {
        let end = self.clock.now() + Duration::days(days);
        loop {
            let now = self.clock.now();
            for event in self.world.take_notifications(now) {
                self.ingest(event).await;
            }
            self.engine.tick().await.expect("tick");
            let next = [
                self.engine.next_due().await.expect("next due"),
                self.world.next_notification_at(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= end => self.clock.advance_to(t.max(now)),
                _ => break,
            }
        }
        self.clock.advance_to(end);
    }

    async fn ingest(&mut self, event: InboundEvent) {
        let expired = match &event {
            InboundEvent::AccountStatus {
                account,
                status: AccountStatusSignal::CredentialsExpired,
                ..
            } => Some(account.clone()),
            _ => None,
        };
        self.engine.ingest(&self.ws, event).await.expect("ingest");
        if let Some(account) = expired {
            let link = self
                .engine
                .start_connection(&self.ws, &OwnerId::new("alice"), Some(&account))
                .await
                .expect("reconnect link");
            self.world.reconnect(&account).expect("world reconnect");
            let settings = self.senders[&account].clone();
            self.engine
                .complete_connection(&link.state, &ProviderAccountId::new("again"), settings)
                .await
                .expect("reconnect");
        }
    }

    /// What a user does beside the sequences: read conversations, hear from a stranger, pause
    /// and resume a sender; and a provider delivering a reply twice.
    async fn extras(&mut self) {
        let now = self.clock.now();
        self.ingest(InboundEvent::MessageReceived {
            account: self.senders.keys().next().cloned(),
            lead: LeadId::new("stranger"),
            channel: Channel::Linkedin,
            message_id: "stranger-1".into(),
            text: "Who are you?".into(),
            at: now,
        })
        .await;
        self.ingest(InboundEvent::MessageReceived {
            account: None,
            lead: LeadId::new("stranger"),
            channel: Channel::Email,
            message_id: "stranger-2".into(),
            text: "Also by email".into(),
            at: now,
        })
        .await;
        self.engine
            .mark_read(&self.ws, &LeadId::new("a-0"), None)
            .await
            .expect("mark read");
        let first = self.senders.keys().next().cloned().expect("a sender");
        self.engine
            .mark_read(&self.ws, &LeadId::new("a-1"), Some(&first))
            .await
            .expect("mark read");
        self.engine
            .pause_sender(&self.ws, &first)
            .await
            .expect("pause");
        self.clock.advance_to(now + Duration::hours(2));
        self.engine
            .resume_sender(&self.ws, &first)
            .await
            .expect("resume");
        self.ingest(InboundEvent::MessageReceived {
            account: None,
            lead: LeadId::new("stranger"),
            channel: Channel::Email,
            message_id: "stranger-2".into(),
            text: "Also by email".into(),
            at: now,
        })
        .await;
    }
}

/// The engine's stream of a 12-day run (generated once per test binary, on the in-memory log).
async fn stream() -> &'static [StoredEvent] {
    static STREAM: OnceCell<Vec<StoredEvent>> = OnceCell::const_new();
    STREAM
        .get_or_init(|| async {
            let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
            let mut sim = Sim::start(log.clone(), 21).await;
            sim.run_days(6).await;
            sim.extras().await;
            sim.run_days(6).await;
            sim.engine.shutdown().await;
            log.read_after(0, usize::MAX).await.expect("read the log")
        })
        .await
}

/// Appends stored events to another log, keeping their order (and so their positions).
async fn append(store: &Store, events: &[StoredEvent]) {
    let log = store.event_log();
    for chunk in events.chunks(500) {
        let batch = chunk
            .iter()
            .map(|e| NewEvent {
                aggregate_type: e.aggregate_type.clone(),
                aggregate_id: e.aggregate_id.clone(),
                sequence: e.sequence,
                event_type: e.event_type.clone(),
                event_version: e.event_version.clone(),
                payload: e.payload.clone(),
            })
            .collect();
        log.append(batch).await.expect("append");
    }
}

/// Every index of the place's database (name and definition), and the rebuilds' records of
/// dropped ones (`projection_checkpoints.deferred_indexes` that are not NULL), read on a
/// connection of the test's own.
async fn indexes(place: &Place) -> (BTreeMap<String, String>, Vec<String>) {
    let (catalog, deferred) = (
        match place {
            Place::Sqlite(_) => {
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            }
            Place::Postgres(_) => {
                "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            }
        },
        "SELECT deferred_indexes FROM projection_checkpoints WHERE deferred_indexes IS NOT NULL",
    );
    // The same queries on either connection type.
    macro_rules! read {
        ($connection:ty) => {{
            let mut conn = <$connection>::connect(&place.url()).await.expect("connect");
            let found = sqlx::query_as(catalog).fetch_all(&mut conn).await;
            let recorded = sqlx::query_scalar(deferred).fetch_all(&mut conn).await;
            let _ = conn.close().await;
            (
                found.expect("indexes").into_iter().collect(),
                recorded.expect("records"),
            )
        }};
    }
    match place {
        Place::Sqlite(_) => read!(sqlx::SqliteConnection),
        Place::Postgres(_) => read!(sqlx::PgConnection),
    }
}

/// Runs `sql` on a connection of the test's own.
async fn execute(place: &Place, sql: &'static str) {
    macro_rules! run {
        ($connection:ty) => {{
            let mut conn = <$connection>::connect(&place.url()).await.expect("connect");
            sqlx::query(sql).execute(&mut conn).await.expect(sql);
            let _ = conn.close().await;
        }};
    }
    match place {
        Place::Sqlite(_) => run!(sqlx::SqliteConnection),
        Place::Postgres(_) => run!(sqlx::PgConnection),
    }
}

/// Every view table, in key order.
async fn dump(views: &Views) -> BTreeMap<&'static str, Vec<Vec<Value>>> {
    let mut out = BTreeMap::new();
    for table in views.tables() {
        out.insert(table.name, views.dump(table.name).await.expect("dump"));
    }
    out
}

/// Splits `events` at irregular places (so that chunks and the runner's batches never line up).
fn irregular_chunks(events: &[StoredEvent]) -> Vec<&[StoredEvent]> {
    let mut out = Vec::new();
    let mut rest = events;
    for size in [1usize, 17, 23, 3, 41, 9].into_iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (head, tail) = rest.split_at(size.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The runner.

async fn incremental_catch_up_equals_rebuild(kind: Db) {
    let events = stream().await;
    in_place(kind, move |place| async move {
        let store = place.open().await;
        let views = Views::with_batch(&store, 13);
        let mut runs = 0;
        for chunk in irregular_chunks(events) {
            append(&store, chunk).await;
            views.catch_up_all().await.expect("catch up");
            runs += 1;
        }
        assert!(runs > 10, "the stream is caught up in many runs");
        let incremental = dump(&views).await;
        assert!(
            incremental["inbox_messages"].len() > 20,
            "a realistic stream"
        );

        // One run from an empty view gives the same rows.
        let once = Views::with_batch(&store, 5_000);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let progress = seen.clone();
        let counts = once
            .rebuild_all(move |done, total| progress.lock().unwrap().push((done, total)))
            .await
            .expect("rebuild");
        assert_eq!(
            dump(&once).await,
            incremental,
            "rebuild_all equals the incremental rows"
        );
        let end = events.len() as u64;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen.last(),
            Some(&(end, end)),
            "progress ends at the log's end"
        );
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "progress moves on: {seen:?}"
        );
        assert_eq!(counts.len(), 3);
        for c in &counts {
            assert_eq!(c.position, end, "{} is at the log's end", c.view);
            let rows: u64 = c.rows.values().sum();
            assert!(rows > 0, "{} has rows", c.view);
        }
        assert_eq!(
            counts[0].rows["inbox_messages"],
            incremental["inbox_messages"].len() as u64
        );

        // One view alone rebuilds to the same rows too.
        once.rebuild("funnel", |_, _| {})
            .await
            .expect("rebuild one");
        assert_eq!(dump(&once).await, incremental);
        store.close().await;
    })
    .await;
}

/// A rebuild in small batches writes its rows in many flushes (every 25 batches on SQLite, 100
/// on PostgreSQL), each with the checkpoints: the rows are those of the incremental runner, and a
/// catch-up afterwards finds nothing left to do.
async fn a_rebuild_written_in_many_flushes_equals_the_incremental_rows(kind: Db) {
    let events = stream().await;
    in_place(kind, move |place| async move {
        let store = place.open().await;
        let migrated = indexes(&place).await;
        assert!(
            migrated.0.keys().any(|name| name == "inbox_threads_recent"),
            "the views' indexes are read: {migrated:?}"
        );
        append(&store, events).await;
        let incremental = Views::with_batch(&store, 13);
        incremental.catch_up_all().await.expect("catch up");
        let expected = dump(&incremental).await;
        let batch = 1;
        assert!(
            events.len() > 100 * batch * 3,
            "the stream makes three flushes and more on either database: {} events",
            events.len()
        );
        let rebuilt = Views::with_batch(&store, batch);
        let counts = rebuilt.rebuild_all(|_, _| {}).await.expect("rebuild");
        assert!(counts.iter().all(|c| c.position == events.len() as u64));
        assert_eq!(dump(&rebuilt).await, expected, "rebuild in many flushes");
        assert_eq!(
            indexes(&place).await,
            migrated,
            "the indexes a rebuild drops are built again, as they were, and nothing is left on record"
        );
        assert_eq!(
            rebuilt.catch_up_all().await.expect("catch up"),
            events.len() as u64
        );
        assert_eq!(dump(&rebuilt).await, expected, "nothing applied twice");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_rebuild_written_in_many_flushes_equals_the_incremental_rows_on_sqlite() {
    a_rebuild_written_in_many_flushes_equals_the_incremental_rows(Db::Sqlite).await;
}

#[tokio::test]
async fn a_rebuild_written_in_many_flushes_equals_the_incremental_rows_on_postgres() {
    a_rebuild_written_in_many_flushes_equals_the_incremental_rows(Db::Postgres).await;
}

/// A rebuild stopped part way (its future dropped, as when `plera replay` is killed) leaves
/// every view's rows exactly as of its checkpoint: each flush writes the rows as they stand after
/// the very batches its checkpoint names, though the views fold at their own pace. A catch-up
/// then finishes the job.
/// (Run on the test's own thread, not through [`in_place`]: rustc cannot prove this future
/// `Send` for every lifetime, and it need not be. Its places are removed at the end.)
async fn a_rebuild_stopped_part_way_leaves_rows_as_of_its_checkpoints(kind: Db) {
    let events = stream().await;
    let place = Place::new(kind).await;
    {
        let store = place.open().await;
        let migrated = indexes(&place).await;
        append(&store, events).await;
        // Batches of one event: a flush every 25 events on SQLite, every 100 on PostgreSQL. A
        // flush starts only once the one before it is written, so two thirds of the way (past
        // the second flush on either database) at least one is on record.
        let rebuilding = Views::with_batch(&store, 1);
        let part = events.len() as u64 * 2 / 3;
        assert!(
            part > 200,
            "two flushes before the stop: {} events",
            events.len()
        );
        let (reached, part_way) = tokio::sync::watch::channel(0u64);
        let rebuild = tokio::spawn(rebuild_reporting(rebuilding.clone(), reached));
        part_way
            .clone()
            .wait_for(|done| *done > part)
            .await
            .expect("the rebuild gets two thirds of the way");
        rebuild.abort();
        assert!(
            rebuild.await.is_err_and(|e| e.is_cancelled()),
            "the rebuild is stopped part way"
        );
        let counts = rebuilding.counts().await.expect("counts");
        let at = counts[0].position;
        assert!(counts.iter().all(|c| c.position == at), "{counts:?}");
        assert!(
            at > 0 && at < events.len() as u64,
            "stopped after a flush, before the end: {at}"
        );
        let stopped = dump(&rebuilding).await;
        // The views' secondary indexes were dropped for the replay and are still on record, to
        // be built by the next runner (the `catch_up_all` below).
        let (left, recorded) = indexes(&place).await;
        let dropped: Vec<&String> = migrated
            .0
            .keys()
            .filter(|i| !left.contains_key(*i))
            .collect();
        assert!(
            dropped.iter().any(|i| *i == "inbox_messages_thread"),
            "a stopped rebuild's indexes stay dropped: {dropped:?}"
        );
        assert!(
            dropped
                .iter()
                .all(|i| recorded.iter().any(|r| r.contains(i.as_str()))),
            "every dropped index is on record: {dropped:?} in {recorded:?}"
        );
        // The incremental runner over the log up to the checkpoint, in a place of its own.
        let other = Place::new(kind).await;
        {
            let reference = other.open().await;
            let (head, tail): (&'static [StoredEvent], &'static [StoredEvent]) =
                events.split_at(at as usize);
            append(&reference, head).await;
            let views = Views::with_batch(&reference, 13);
            views
                .catch_up_all()
                .await
                .expect("catch up to the checkpoint");
            let expected = dump(&views).await;
            assert!(stopped == expected, "the rows as of position {at}");
            append(&reference, tail).await;
            views.catch_up_all().await.expect("catch up to the end");
            let finished = rebuilding.catch_up_all().await.expect("finish the rebuild");
            assert_eq!(finished, events.len() as u64);
            assert_eq!(
                indexes(&place).await,
                migrated,
                "the next runner builds the indexes on record"
            );
            let (rows, expected) = (dump(&rebuilding).await, dump(&views).await);
            assert!(rows == expected, "the rows of a finished rebuild");
            reference.close().await;
        }
        other.cleanup().await;
        store.close().await;
    }
    place.cleanup().await;
}

/// Rebuilds every view, reporting each position reached.
async fn rebuild_reporting(views: Views, reached: tokio::sync::watch::Sender<u64>) {
    views
        .rebuild_all(move |done, _| {
            reached.send_replace(done);
        })
        .await
        .expect("rebuild");
}

#[tokio::test]
async fn a_rebuild_stopped_part_way_leaves_rows_as_of_its_checkpoints_on_sqlite() {
    a_rebuild_stopped_part_way_leaves_rows_as_of_its_checkpoints(Db::Sqlite).await;
}

#[tokio::test]
async fn a_rebuild_stopped_part_way_leaves_rows_as_of_its_checkpoints_on_postgres() {
    a_rebuild_stopped_part_way_leaves_rows_as_of_its_checkpoints(Db::Postgres).await;
}

/// A rebuild racing another process's runner (no shared lock): whichever moves the checkpoints
/// first, the rebuild either flushes its rows or drops them and carries on incrementally, and
/// the rows end as the incremental runner's.
async fn a_rebuild_racing_another_runner_ends_with_the_same_rows(kind: Db) {
    let events = stream().await;
    in_place(kind, move |place| async move {
        let store = place.open().await;
        let migrated = indexes(&place).await;
        append(&store, events).await;
        let reference = Views::with_batch(&store, 40);
        reference.catch_up_all().await.expect("catch up");
        let expected = dump(&reference).await;
        let rebuilding = Views::with_batch(&store, 4);
        let other = Views::with_batch(&store, 9);
        for _ in 0..3 {
            let (ra, rb) = tokio::join!(rebuilding.rebuild_all(|_, _| {}), async {
                let mut reached = 0;
                for _ in 0..5 {
                    reached = other.catch_up_all().await.expect("the other runner");
                }
                reached
            });
            let counts = ra.expect("rebuild");
            assert!(counts.iter().all(|c| c.position == events.len() as u64));
            assert_eq!(rb, events.len() as u64);
            assert_eq!(dump(&rebuilding).await, expected);
            // The other runner may build the rebuild's indexes before the rebuild does: each
            // is built once, and none is left on record.
            assert_eq!(indexes(&place).await, migrated);
        }
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_rebuild_racing_another_runner_ends_with_the_same_rows_on_sqlite() {
    a_rebuild_racing_another_runner_ends_with_the_same_rows(Db::Sqlite).await;
}

#[tokio::test]
async fn a_rebuild_racing_another_runner_ends_with_the_same_rows_on_postgres() {
    a_rebuild_racing_another_runner_ends_with_the_same_rows(Db::Postgres).await;
}

#[tokio::test]
async fn incremental_catch_up_equals_rebuild_on_sqlite() {
    incremental_catch_up_equals_rebuild(Db::Sqlite).await;
}

#[tokio::test]
async fn incremental_catch_up_equals_rebuild_on_postgres() {
    incremental_catch_up_equals_rebuild(Db::Postgres).await;
}

async fn a_restarted_runner_counts_nothing_twice(kind: Db) {
    let events = stream().await;
    in_place(kind, move |place| async move {
        let (first, second) = events.split_at(events.len() / 2);
        let store = place.open().await;
        append(&store, first).await;
        Views::with_batch(&store, 100)
            .catch_up_all()
            .await
            .expect("first runner");
        let before = dump(&Views::new(&store)).await;
        store.close().await;

        // A new process: the same database opened again, a new runner.
        let store = place.open().await;
        let views = Views::with_batch(&store, 100);
        views
            .catch_up_all()
            .await
            .expect("second runner, nothing new");
        assert_eq!(dump(&views).await, before, "nothing is applied twice");
        append(&store, second).await;
        assert_eq!(
            views.catch_up_all().await.expect("second runner"),
            events.len() as u64
        );
        let live = dump(&views).await;
        views.rebuild_all(|_, _| {}).await.expect("rebuild");
        assert_eq!(dump(&views).await, live);
        store.close().await;
    })
    .await;
}

/// A record of dropped indexes that cannot be read (edited by hand, say) stops the runner with
/// an error that names the view and the column, and nothing moves; once the column is cleared the
/// runner goes on from where it was.
async fn an_unreadable_index_record_stops_the_runner_with_a_clear_error(kind: Db) {
    let events = stream().await;
    in_place(kind, move |place| async move {
        let (first, second) = events.split_at(events.len() / 2);
        let store = place.open().await;
        append(&store, first).await;
        let views = Views::with_batch(&store, 100);
        views.catch_up_all().await.expect("catch up");
        let before = dump(&views).await;
        execute(
            &place,
            "UPDATE projection_checkpoints SET deferred_indexes = 'not json' WHERE name = 'inbox'",
        )
        .await;
        append(&store, second).await;
        match views.catch_up_all().await {
            Err(ViewError::Corrupt(reason)) => assert!(
                reason.contains("view inbox")
                    && reason.contains("projection_checkpoints.deferred_indexes"),
                "{reason}"
            ),
            other => panic!("an unreadable record is an error: {other:?}"),
        }
        assert_eq!(dump(&views).await, before, "nothing was written");
        let counts = views.counts().await.expect("counts");
        assert!(
            counts.iter().all(|c| c.position == first.len() as u64),
            "{counts:?}"
        );
        execute(
            &place,
            "UPDATE projection_checkpoints SET deferred_indexes = NULL WHERE name = 'inbox'",
        )
        .await;
        assert_eq!(
            views.catch_up_all().await.expect("catch up"),
            events.len() as u64
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_unreadable_index_record_stops_the_runner_with_a_clear_error_on_sqlite() {
    an_unreadable_index_record_stops_the_runner_with_a_clear_error(Db::Sqlite).await;
}

#[tokio::test]
async fn an_unreadable_index_record_stops_the_runner_with_a_clear_error_on_postgres() {
    an_unreadable_index_record_stops_the_runner_with_a_clear_error(Db::Postgres).await;
}

/// An index that backs a constraint is left alone by a rebuild, though it is not unique (an
/// exclusion constraint's, PostgreSQL only): `DROP INDEX` would refuse it and fail the rebuild.
#[tokio::test]
async fn a_rebuild_leaves_a_constraint_s_index_alone_on_postgres() {
    let events = stream().await;
    in_place(Db::Postgres, move |place| async move {
        let store = place.open().await;
        execute(
            &place,
            "ALTER TABLE inbox_sequences ADD CONSTRAINT one_row_per_sequence \
             EXCLUDE USING btree (sequence_id WITH =)",
        )
        .await;
        let with_constraint = indexes(&place).await;
        assert!(with_constraint.0.contains_key("one_row_per_sequence"));
        append(&store, events).await;
        let views = Views::with_batch(&store, 500);
        views.rebuild_all(|_, _| {}).await.expect("rebuild");
        assert_eq!(indexes(&place).await, with_constraint);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_restarted_runner_counts_nothing_twice_on_sqlite() {
    a_restarted_runner_counts_nothing_twice(Db::Sqlite).await;
}

#[tokio::test]
async fn a_restarted_runner_counts_nothing_twice_on_postgres() {
    a_restarted_runner_counts_nothing_twice(Db::Postgres).await;
}

async fn concurrent_runners_apply_each_batch_once(kind: Db) {
    let events = stream().await;
    in_place(kind, move |place| async move {
        let store = place.open().await;
        append(&store, events).await;
        // Two runners that do not share a lock, as two processes would.
        let a = Views::with_batch(&store, 50);
        let b = Views::with_batch(&store, 70);
        let (ra, rb) = tokio::join!(a.catch_up_all(), b.catch_up_all());
        assert_eq!(ra.expect("runner a"), events.len() as u64);
        assert_eq!(rb.expect("runner b"), events.len() as u64);
        let racing = dump(&a).await;
        a.rebuild_all(|_, _| {}).await.expect("rebuild");
        assert_eq!(dump(&a).await, racing);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_runners_apply_each_batch_once_on_sqlite() {
    concurrent_runners_apply_each_batch_once(Db::Sqlite).await;
}

#[tokio::test]
async fn concurrent_runners_apply_each_batch_once_on_postgres() {
    concurrent_runners_apply_each_batch_once(Db::Postgres).await;
}

plera_projections::record! {
    /// How many events a view was given, and the sum of their positions: any event applied twice
    /// or skipped shows in the sum.
    pub struct Tally in "views_test_tally", key 1 {
        /// Always 1.
        pub id: i64,
        /// Events applied.
        pub events: i64,
        /// Sum of their positions.
        pub position_sum: i64,
    }
}

/// A view that is not idempotent at all: it counts every event it is given.
struct Counting;

impl Projection for Counting {
    fn name(&self) -> &'static str {
        "test_tally"
    }

    fn version(&self) -> u32 {
        1
    }

    fn tables(&self) -> Vec<&'static Table> {
        vec![Tally::table()]
    }

    fn apply(&self, events: &[Decoded], rows: &Snapshot) -> Result<Outcome, ProjectionError> {
        let mut stage = Stage::new(rows);
        let tally = stage.get::<Tally>(vec![KeyPart::Int(1)])?;
        let mut tally = tally.unwrap_or(Tally {
            id: 1,
            events: 0,
            position_sum: 0,
        });
        tally.events += events.len() as i64;
        tally.position_sum += events.iter().map(|e| e.position as i64).sum::<i64>();
        stage.put(&tally);
        Ok(stage.finish())
    }
}

async fn every_event_is_applied_exactly_once_across_processes(kind: Db) {
    let events = stream().await;
    in_place(kind, move |place| async move {
        let first = place.open().await;
        let int = if kind == Db::Sqlite {
            "integer"
        } else {
            "bigint"
        };
        raw(
            &first,
            &format!(
                "CREATE TABLE views_test_tally (id {int} PRIMARY KEY, events {int} NOT NULL, \
                 position_sum {int} NOT NULL)"
            ),
        )
        .await;
        // Two processes on one database, each with its own runner, racing on every catch-up;
        // the second process restarts half-way.
        let mut second = place.open().await;
        let a = Views::with_projections(&first, vec![Box::new(Counting)], 5);
        let mut b = Views::with_projections(&second, vec![Box::new(Counting)], 3);
        let chunks = irregular_chunks(events);
        let half = chunks.len() / 2;
        for (i, chunk) in chunks.into_iter().enumerate() {
            append(&first, chunk).await;
            let (ra, rb) = tokio::join!(a.catch_up_all(), b.catch_up_all());
            ra.expect("runner a");
            rb.expect("runner b");
            if i == half {
                second.close().await;
                second = place.open().await;
                b = Views::with_projections(&second, vec![Box::new(Counting)], 3);
            }
        }
        let n = events.len() as i64;
        let dumped = a.dump("views_test_tally").await.expect("dump");
        assert_eq!(
            dumped,
            vec![vec![
                Value::Int(1),
                Value::Int(n),
                Value::Int(n * (n + 1) / 2)
            ]],
            "every event applied once"
        );
        second.close().await;
        first.close().await;
    })
    .await;
}

#[tokio::test]
async fn every_event_is_applied_exactly_once_across_processes_on_sqlite() {
    every_event_is_applied_exactly_once_across_processes(Db::Sqlite).await;
}

#[tokio::test]
async fn every_event_is_applied_exactly_once_across_processes_on_postgres() {
    every_event_is_applied_exactly_once_across_processes(Db::Postgres).await;
}

/// The rebuild reads the next batch while it folds the current one, and folds the views on
/// threads of their own: every view still gets each event once and in log order (the tally
/// counts events and sums positions; a batch folded twice, skipped or out of order shows), over
/// many flushes, beside the real views, whose rows equal the incremental runner's.
async fn a_pipelined_rebuild_gives_every_view_each_event_once(kind: Db) {
    let events = stream().await;
    in_place(kind, move |place| async move {
        let store = place.open().await;
        let int = if kind == Db::Sqlite {
            "integer"
        } else {
            "bigint"
        };
        raw(
            &store,
            &format!(
                "CREATE TABLE views_test_tally (id {int} PRIMARY KEY, events {int} NOT NULL, \
                 position_sum {int} NOT NULL)"
            ),
        )
        .await;
        append(&store, events).await;
        let incremental = Views::with_batch(&store, 13);
        incremental.catch_up_all().await.expect("catch up");
        let expected = dump(&incremental).await;
        let mut projections = plera_projections::all_views();
        projections.push(Box::new(Counting));
        let rebuilt = Views::with_projections(&store, projections, 3);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let progress = seen.clone();
        rebuilt
            .rebuild_all(move |done, _| progress.lock().unwrap().push(done))
            .await
            .expect("rebuild");
        let n = events.len() as i64;
        assert_eq!(
            rebuilt.dump("views_test_tally").await.expect("dump"),
            vec![vec![
                Value::Int(1),
                Value::Int(n),
                Value::Int(n * (n + 1) / 2)
            ]],
            "every event folded once"
        );
        let mut real = dump(&rebuilt).await;
        real.remove("views_test_tally");
        assert_eq!(
            real, expected,
            "the real views' rows are the incremental ones"
        );
        let seen = seen.lock().unwrap().clone();
        assert!(
            seen.len() > 25 * 3,
            "several flushes: {} batches",
            seen.len()
        );
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "progress in log order"
        );
        assert_eq!(seen.last(), Some(&(n as u64)));
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_pipelined_rebuild_gives_every_view_each_event_once_on_sqlite() {
    a_pipelined_rebuild_gives_every_view_each_event_once(Db::Sqlite).await;
}

#[tokio::test]
async fn a_pipelined_rebuild_gives_every_view_each_event_once_on_postgres() {
    a_pipelined_rebuild_gives_every_view_each_event_once(Db::Postgres).await;
}

/// A view whose fold panics at some batch.
struct Panicking;

impl Projection for Panicking {
    fn name(&self) -> &'static str {
        "test_panicking"
    }

    fn version(&self) -> u32 {
        1
    }

    fn tables(&self) -> Vec<&'static Table> {
        Vec::new()
    }

    fn apply(&self, events: &[Decoded], rows: &Snapshot) -> Result<Outcome, ProjectionError> {
        if events.iter().any(|e| e.position == 100) {
            panic!("a bug in a fold");
        }
        Ok(Stage::new(rows).finish())
    }
}

/// A fold that panics on its thread ends the rebuild with an error, on a current-thread runtime
/// too (`#[tokio::test]`'s), instead of a panic of the caller or a rebuild that never returns.
#[tokio::test]
async fn a_fold_that_panics_fails_the_rebuild() {
    let events = stream().await;
    let place = Place::new(Db::Sqlite).await;
    let store = place.open().await;
    append(&store, events).await;
    let mut projections = plera_projections::all_views();
    projections.push(Box::new(Panicking));
    let views = Views::with_projections(&store, projections, 9);
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        views.rebuild_all(|_, _| {}),
    )
    .await
    .expect("the rebuild returns");
    let error = outcome.expect_err("the panic is an error").to_string();
    assert!(error.contains("test_panicking"), "{error}");
    assert!(error.contains("panicked"), "{error}");
    store.close().await;
    place.cleanup().await;
}

#[tokio::test]
async fn sqlite_and_postgres_hold_identical_rows() {
    let events = stream().await;
    let sqlite = Place::new(Db::Sqlite).await;
    let postgres = Place::new(Db::Postgres).await;
    let (a, b) = (sqlite.open().await, postgres.open().await);
    append(&a, events).await;
    append(&b, events).await;
    let (va, vb) = (Views::new(&a), Views::new(&b));
    va.catch_up_all().await.expect("sqlite");
    vb.catch_up_all().await.expect("postgres");
    let (da, db) = (dump(&va).await, dump(&vb).await);
    a.close().await;
    b.close().await;
    sqlite.cleanup().await;
    postgres.cleanup().await;
    assert_eq!(da, db);
}

// ---------------------------------------------------------------------------------------------
// Schema, versions and idempotency.

/// The migration's columns, in order: name, kind, nullable.
async fn columns(store: &Store, table: &str) -> Vec<(String, Kind, bool)> {
    match store {
        Store::Sqlite(log) => {
            let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
                "SELECT name, type, \"notnull\" FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .fetch_all(log.reader())
            .await
            .expect("table info");
            rows.into_iter()
                .map(|(name, ty, notnull)| {
                    let kind = match ty.to_lowercase().as_str() {
                        "integer" => Kind::Int,
                        "real" => Kind::Real,
                        _ => Kind::Text,
                    };
                    (name, kind, notnull == 0)
                })
                .collect()
        }
        Store::Postgres(log) => {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT column_name::text, data_type::text, is_nullable::text \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(log.pool())
            .await
            .expect("columns");
            rows.into_iter()
                .map(|(name, ty, nullable)| {
                    let kind = match ty.as_str() {
                        "bigint" => Kind::Int,
                        "double precision" => Kind::Real,
                        _ => Kind::Text,
                    };
                    (name, kind, nullable == "YES")
                })
                .collect()
        }
    }
}

async fn the_tables_match_the_records(kind: Db) {
    in_place(kind, |place| async move {
        let store = place.open().await;
        let views = Views::new(&store);
        for table in views.tables() {
            let expected: Vec<(String, Kind, bool)> = table
                .columns
                .iter()
                .map(|c| (c.name.to_string(), c.kind, c.nullable))
                .collect();
            assert_eq!(
                columns(&store, table.name).await,
                expected,
                "{}",
                table.name
            );
        }
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_tables_match_the_records_on_sqlite() {
    the_tables_match_the_records(Db::Sqlite).await;
}

#[tokio::test]
async fn the_tables_match_the_records_on_postgres() {
    the_tables_match_the_records(Db::Postgres).await;
}

async fn raw(store: &Store, sql: &str) {
    match store {
        Store::Sqlite(log) => {
            sqlx::raw_sql(sql).execute(log.writer()).await.expect(sql);
        }
        Store::Postgres(log) => {
            sqlx::raw_sql(sql).execute(log.pool()).await.expect(sql);
        }
    }
}

#[tokio::test]
async fn a_view_whose_fold_version_changed_is_rebuilt() {
    let events = stream().await;
    in_place(Db::Sqlite, move |place| async move {
        let store = place.open().await;
        append(&store, events).await;
        let views = Views::new(&store);
        views.catch_up_all().await.expect("catch up");
        let good = dump(&views).await;
        // Rows an older fold left behind, under an older version.
        raw(
            &store,
            "INSERT INTO funnel_campaigns (campaign_id, enrolled, contacted, contacted_linkedin, \
             contacted_email, invited, accepted, messages, emails, replied, replied_linkedin, \
             replied_email, out_of_office, stopped_replied, stopped_other, completed) \
             VALUES ('stale', 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9); \
             UPDATE projection_checkpoints SET version = 0 WHERE name = 'funnel';",
        )
        .await;
        views.catch_up_all().await.expect("catch up");
        assert_eq!(
            dump(&views).await,
            good,
            "the funnel was rebuilt from position 0"
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_reply_stored_twice_shows_once_in_inbox_and_funnel() {
    let events = stream().await;
    in_place(Db::Sqlite, move |place| async move {
        let store = place.open().await;
        append(&store, events).await;
        let views = Views::new(&store);
        views.catch_up_all().await.expect("catch up");
        let before = dump(&views).await;
        // A log that holds one delivery twice (the domain drops such duplicates; the view must
        // not depend on it).
        let reply = events
            .iter()
            .find(|e| e.event_type == "ReplyReceived")
            .expect("the stream has a reply");
        let last = events
            .iter()
            .filter(|e| e.aggregate_id == reply.aggregate_id)
            .map(|e| e.sequence)
            .max()
            .unwrap_or(0);
        let mut again = reply.payload.clone();
        again["at"] = json!("2026-03-20T10:00:00Z");
        store
            .event_log()
            .append(vec![NewEvent {
                aggregate_type: reply.aggregate_type.clone(),
                aggregate_id: reply.aggregate_id.clone(),
                sequence: last + 1,
                event_type: reply.event_type.clone(),
                event_version: reply.event_version.clone(),
                payload: again,
            }])
            .await
            .expect("append the duplicate");
        views.catch_up_all().await.expect("catch up");
        let after = dump(&views).await;
        for table in [
            "inbox_messages",
            "inbox_threads",
            "funnel_campaigns",
            "funnel_steps",
        ] {
            assert_eq!(after[table], before[table], "{table} is unchanged");
        }
        store.close().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The read queries.

#[tokio::test]
async fn the_queries_read_what_the_log_says() {
    let events = stream().await;
    in_place(Db::Sqlite, move |place| async move {
        let store = place.open().await;
        append(&store, events).await;
        let views = Views::new(&store);
        views.refresh().await.expect("refresh");
        let count = |t: &str| events.iter().filter(|e| e.event_type == t).count() as u64;
        let replied: BTreeSet<&str> = events
            .iter()
            .filter(|e| e.event_type == "ReplyReceived")
            .map(|e| e.aggregate_id.as_str())
            .collect();

        // Inbox: every message once, most recent thread first, messages in time order.
        let threads = views.inbox(&InboxFilter::default()).await.expect("inbox");
        let messages: usize = threads.iter().map(|t| t.messages.len()).sum();
        let sent = count("InviteSent") + count("MessageSent") + count("EmailSent");
        let inbound =
            count("ReplyReceived") + count("OutOfOfficeReceived") + count("InboundMessageReceived");
        assert_eq!(messages as u64, sent + inbound);
        assert!(threads.windows(2).all(|w| w[0].last_at >= w[1].last_at));
        for t in &threads {
            assert!(t.messages.windows(2).all(|w| w[0].at <= w[1].at));
            let unread_max = t
                .messages
                .iter()
                .filter(|m| m.direction == plera_projections::inbox::Direction::Inbound)
                .count() as u64;
            assert!(t.unread <= unread_max);
        }
        let stranger: Vec<_> = threads
            .iter()
            .filter(|t| t.lead_id.as_str() == "stranger")
            .collect();
        assert_eq!(
            stranger.len(),
            2,
            "the stranger's LinkedIn and email threads"
        );
        assert!(stranger
            .iter()
            .all(|t| t.campaign_id.is_none() && t.unread == 1));
        let json = serde_json::to_value(&threads[0]).expect("json");
        for field in ["lead_id", "account_id", "campaign_id", "unread", "messages"] {
            assert!(json.get(field).is_some(), "{field}");
        }
        for field in ["direction", "channel", "at", "text"] {
            assert!(json["messages"][0].get(field).is_some(), "{field}");
        }
        let a0 = views
            .inbox(&InboxFilter {
                lead: Some("a-0".into()),
                ..InboxFilter::default()
            })
            .await
            .expect("a-0");
        assert!(
            a0.iter().all(|t| t.last_read_at.is_some()),
            "a-0's threads were all read"
        );

        let unread = views
            .inbox(&InboxFilter {
                unread_only: true,
                ..InboxFilter::default()
            })
            .await
            .expect("unread");
        assert!(!unread.is_empty() && unread.iter().all(|t| t.unread > 0));
        let email = views
            .inbox(&InboxFilter {
                channel: Some(Channel::Email),
                ..InboxFilter::default()
            })
            .await
            .expect("email");
        assert!(email.iter().all(|t| t.last_channel == Channel::Email));
        let page = views
            .inbox(&InboxFilter {
                limit: Some(3),
                offset: 2,
                ..InboxFilter::default()
            })
            .await
            .expect("page");
        assert_eq!(page, threads[2..5].to_vec());
        let account = threads[0].account_id.clone();
        let mine = views
            .inbox(&InboxFilter {
                account: account.clone(),
                ..InboxFilter::default()
            })
            .await
            .expect("by sender");
        assert!(mine.iter().all(|t| t.account_id == account));

        // Senders: both, connected or paused, with their use.
        let senders = views.senders(Some(&"ws".into())).await.expect("senders");
        assert_eq!(senders.len(), 2);
        let starts = events
            .iter()
            .filter(|e| e.event_type == "StepStarted" && e.payload["action"] != "email")
            .count();
        assert!(starts > 0);
        for s in &senders {
            assert!(s.usage.as_of.is_some());
            assert!(s.limits.is_some() && s.connected_at.is_some());
            let warnings = views
                .sender_warnings(&s.account_id, 100)
                .await
                .expect("warnings");
            assert_eq!(warnings.len() as u64, s.warnings);
            assert!(warnings.windows(2).all(|w| w[0].at >= w[1].at));
        }
        assert!(views
            .senders(Some(&"other".into()))
            .await
            .expect("none")
            .is_empty());

        // Funnel: the log's own counts.
        let funnels = views.funnel(None, None).await.expect("funnel");
        assert_eq!(funnels.len(), 2);
        assert_eq!(
            funnels.iter().map(|f| f.enrolled).sum::<u64>(),
            count("SequenceStarted")
        );
        assert_eq!(
            funnels.iter().map(|f| f.invited).sum::<u64>(),
            count("InviteSent")
        );
        assert_eq!(
            funnels.iter().map(|f| f.messaged).sum::<u64>(),
            count("MessageSent")
        );
        assert_eq!(
            funnels.iter().map(|f| f.emailed).sum::<u64>(),
            count("EmailSent")
        );
        assert_eq!(
            funnels.iter().map(|f| f.replied).sum::<u64>(),
            replied.len() as u64
        );
        assert!(replied.len() > 2, "the stream has replies");
        for f in &funnels {
            assert!(!f.steps.is_empty());
            let days = views.funnel_days(&f.campaign_id).await.expect("days");
            assert_eq!(days.iter().map(|d| d.enrolled).sum::<u64>(), f.enrolled);
            assert_eq!(days.iter().map(|d| d.replied).sum::<u64>(), f.replied);
            if f.invited > 0 {
                assert_eq!(
                    f.acceptance_rate,
                    Some(f.accepted as f64 / f.invited as f64)
                );
            }
        }
        let one = views
            .funnel(Some(&"ws".into()), Some(&"summer".into()))
            .await
            .expect("one campaign");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].name.as_deref(), Some("summer outreach"));
        store.close().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Live: the engine writes to the store while the views follow it.

#[tokio::test]
async fn views_follow_a_live_engine_and_equal_their_rebuild() {
    in_place(Db::Sqlite, |place| async move {
        let store = place.open().await;
        let views = Views::with_batch(&store, 64);
        let mut sim = Sim::start(store.event_log(), 5).await;
        for _ in 0..4 {
            sim.run_days(2).await;
            views.catch_up_all().await.expect("catch up");
        }
        sim.extras().await;
        views.catch_up_all().await.expect("catch up");
        sim.engine.shutdown().await;
        let live = dump(&views).await;
        views.rebuild_all(|_, _| {}).await.expect("rebuild");
        assert_eq!(dump(&views).await, live);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_engine_reads_its_views_scoped_to_the_workspace_and_up_to_date() {
    in_place(Db::Sqlite, |place| async move {
        let store = place.open().await;
        let views = Views::new(&store);
        let mut sim = Sim::start_with(store.event_log(), 9, Some(Arc::new(views.clone()))).await;
        sim.run_days(5).await;
        let ws = sim.ws.clone();
        let engine = sim.engine.clone();

        // The inbox is current without anyone catching up, and scoped to the workspace.
        let threads = engine
            .inbox(&ws, InboxFilter::default())
            .await
            .expect("inbox");
        assert_eq!(
            threads,
            views.inbox(&InboxFilter::default()).await.expect("views")
        );
        assert!(!threads.is_empty());
        let other = WorkspaceId::new("other");
        assert!(engine
            .inbox(&other, InboxFilter::default())
            .await
            .expect("other")
            .is_empty());

        // A read call after a command sees the command.
        let unread = threads
            .iter()
            .find(|t| t.unread > 0)
            .expect("an unread thread")
            .clone();
        engine
            .mark_read(&ws, &unread.lead_id, unread.account_id.as_ref())
            .await
            .expect("mark read");
        let conversation = engine
            .conversation(&ws, &unread.lead_id, unread.account_id.as_ref())
            .await
            .expect("conversation");
        assert_eq!(conversation.len(), 1);
        assert_eq!(conversation[0].unread, 0);
        assert_eq!(conversation[0].messages, unread.messages);

        // Sender health, with another workspace's view of it refused.
        let account = sim.senders.keys().next().cloned().expect("a sender");
        let detail = engine.sender_health(&ws, &account).await.expect("health");
        assert_eq!(detail.health.account_id, account);
        assert_eq!(detail.warnings.len() as u64, detail.health.warnings.min(20));
        assert_eq!(engine.senders_health(&ws).await.expect("all").len(), 2);
        assert!(matches!(
            engine.sender_health(&other, &account).await,
            Err(plera_actors::EngineError::NotFound { .. })
        ));

        // Funnels, per workspace and campaign.
        let funnels = engine.funnel(&ws, None).await.expect("funnel");
        assert_eq!(funnels.len(), 2);
        let spring = CampaignId::new("spring");
        let days = engine.funnel_days(&ws, &spring).await.expect("days");
        assert_eq!(
            days.iter().map(|d| d.enrolled).sum::<u64>(),
            funnels[0].enrolled
        );
        assert!(matches!(
            engine.funnel_days(&other, &spring).await,
            Err(plera_actors::EngineError::NotFound { .. })
        ));
        sim.engine.shutdown().await;

        // An engine built without views says so.
        let bare = Sim::start(Arc::new(MemoryEventLog::new()), 1).await;
        assert!(matches!(
            bare.engine.inbox(&ws, InboxFilter::default()).await,
            Err(plera_actors::EngineError::InvalidInput(_))
        ));
        bare.engine.shutdown().await;
        store.close().await;
    })
    .await;
}

/// `leads` leads × 8 events (enrol, invite, acceptance, message, reply and stop) over 10
/// senders and 5 campaigns, spread over 30 days: a load of a realistic shape for timing.
fn synthetic(leads: usize) -> Vec<NewEvent> {
    let start = monday();
    let mut out = Vec::new();
    for a in 0..10 {
        out.push(NewEvent {
            aggregate_type: "sender_account".into(),
            aggregate_id: format!("acc-{a}"),
            sequence: 1,
            event_type: "AccountConnected".into(),
            event_version: "1".into(),
            payload: json!({"type": "AccountConnected", "workspace_id": "ws", "account_id": format!("acc-{a}"),
                "provider_account_id": format!("li-{a}"), "owner": "alice", "tier": "premium",
                "limits": {"daily_invites": 80, "daily_messages": 150, "weekly_invites": 200},
                "timezone": "Europe/Paris", "working_hours": {"start": "08:00", "end": "19:00"},
                "warm_up": false, "at": start}),
        });
    }
    for i in 0..leads {
        let at = |minutes: i64| {
            (start + Duration::minutes(minutes + (i as i64 * 43_200) / leads as i64)).to_rfc3339()
        };
        let account = format!("acc-{}", i % 10);
        let campaign = format!("c{}", i % 5);
        let events = [
            json!({"type": "SequenceStarted", "workspace_id": "ws", "lead_id": format!("l{i}"), "campaign_id": campaign,
                "play": "linkedin-first", "account_id": account, "connection_degree": "second", "email_known": true, "at": at(0)}),
            json!({"type": "StepStarted", "step": 0, "action": "invite", "account_id": account, "at": at(1)}),
            json!({"type": "InviteSent", "step": 0, "account_id": account, "note": "Hello there", "at": at(2)}),
            json!({"type": "InviteAccepted", "at": at(300)}),
            json!({"type": "StepStarted", "step": 2, "action": "message", "account_id": account, "at": at(1500)}),
            json!({"type": "MessageSent", "step": 2, "account_id": account, "text": "Thanks for connecting", "at": at(1501)}),
            json!({"type": "ReplyReceived", "channel": "linkedin", "message_id": format!("r{i}"), "text": "Sure", "at": at(2000)}),
            json!({"type": "SequenceStopped", "reason": "replied", "at": at(2000)}),
        ];
        for (n, payload) in events.into_iter().enumerate() {
            out.push(NewEvent {
                aggregate_type: "lead_sequence".into(),
                aggregate_id: format!("ws/{campaign}/l{i}"),
                sequence: n as u64 + 1,
                event_type: payload["type"].as_str().unwrap_or_default().into(),
                event_version: "1".into(),
                payload,
            });
        }
    }
    out
}

async fn rebuild_speed(kind: Db) {
    in_place(kind, |place| async move {
        let store = place.open().await;
        let events = synthetic(5_000);
        let n = events.len();
        for chunk in events.chunks(2_000) {
            store
                .event_log()
                .append(chunk.to_vec())
                .await
                .expect("append");
        }
        let views = Views::new(&store);
        let started = std::time::Instant::now();
        let counts = views.rebuild_all(|_, _| {}).await.expect("rebuild");
        let took = started.elapsed();
        eprintln!("{kind:?}: rebuilt every view from {n} events in {took:?}");
        assert_eq!(counts[0].rows["inbox_messages"], 15_000);
        assert_eq!(counts[2].rows["funnel_sequences"], 5_000);
        store.close().await;
    })
    .await;
}

/// Timing only: `cargo test -p plera-adapters --test views_runner speed -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn rebuild_speed_on_sqlite() {
    rebuild_speed(Db::Sqlite).await;
}

/// Timing only, as above.
#[tokio::test]
#[ignore]
async fn rebuild_speed_on_postgres() {
    rebuild_speed(Db::Postgres).await;
}

/// With several processes, each view is kept by the one holding its lease; the others leave it
/// alone until that lease lapses, then one of them carries on from the checkpoint.
#[tokio::test]
async fn one_process_keeps_each_view_while_its_lease_lasts() {
    let events = stream().await;
    in_place(Db::Postgres, move |place| async move {
        let (first, second) = events.split_at(events.len() / 2);
        let store = place.open().await;
        let clock = Arc::new(plera_actors::VirtualClock::new(monday()));
        let leased = |node: &str| {
            let views = Views::with_batch(&store, 100);
            views.hold_leases(plera_adapters::views::ViewLeases {
                node: node.into(),
                leases: store.leases().expect("PostgreSQL keeps leases"),
                clock: clock.clone(),
                ttl: Duration::minutes(10),
            });
            views
        };
        let (a, b) = (leased("a"), leased("b"));
        append(&store, first).await;
        assert_eq!(a.catch_up_all().await.expect("a"), first.len() as u64);
        append(&store, second).await;
        assert_eq!(b.catch_up_all().await.expect("b"), 0, "a keeps every view");
        clock.advance_to(monday() + Duration::minutes(11));
        assert_eq!(
            b.catch_up_all().await.expect("b"),
            events.len() as u64,
            "a's leases lapsed: b carries on from the checkpoints"
        );
        assert_eq!(a.catch_up_all().await.expect("a"), 0, "now b holds them");
        let live = dump(&a).await;
        let unleased = Views::new(&store);
        unleased.rebuild_all(|_, _| {}).await.expect("rebuild");
        assert_eq!(dump(&unleased).await, live, "every event applied once");
        store.close().await;
    })
    .await;
}

/// The runners read payloads as text and decode them straight into events: a payload that is not
/// JSON, of an event a view decodes or of an aggregate no view knows, fails the rebuild and the
/// incremental runner alike; nothing is skipped silently.
#[tokio::test]
async fn a_rebuild_fails_on_a_payload_that_is_not_json() {
    let events = stream().await;
    for (aggregate_type, position) in [("lead_sequence", None), ("billing", Some(1))] {
        in_place(Db::Sqlite, move |place| async move {
            let store = place.open().await;
            append(&store, events).await;
            let Store::Sqlite(sqlite) = &store else {
                unreachable!("a sqlite URL opens a sqlite store")
            };
            let position: i64 = match position {
                Some(p) => p,
                None => sqlx::query_scalar(
                    "SELECT MIN(position) FROM events WHERE aggregate_type = 'lead_sequence'",
                )
                .fetch_one(sqlite.writer())
                .await
                .unwrap(),
            };
            sqlx::query(
                "UPDATE events SET payload = '{broken', aggregate_type = ? WHERE position = ?",
            )
            .bind(aggregate_type)
            .bind(position)
            .execute(sqlite.writer())
            .await
            .unwrap();
            let views = Views::new(&store);
            let rebuilt = views.rebuild_all(|_, _| {}).await;
            assert!(
                rebuilt
                    .as_ref()
                    .is_err_and(|e| e.to_string().contains(&format!("position {position}"))),
                "{aggregate_type}: {rebuilt:?}"
            );
            assert!(views.catch_up_all().await.is_err(), "{aggregate_type}");
            store.close().await;
        })
        .await;
    }
}
