#![warn(missing_docs)]
//! Shared harness of the integration tests: the real engine against the sandbox world on a
//! virtual clock, on any of the event stores, and checks of the invariants of DESIGN §5 against
//! the sandbox's ledger and the log.

mod checks;
pub mod cluster_node;
mod counting;
mod faulty;
mod store_kind;

pub use checks::{gap_violations, log_violations, sent_vs_ledger};
pub use counting::{CountingLog, StoreCalls};
pub use faulty::{Fault, FaultyLog};
pub use store_kind::{pg_base_url, Opened, StoreKind, TestDb};

use chrono::{DateTime, Duration, Utc};
use plera_actors::store::{EventLog, StoredEvent};
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadDirectory, LeadProfile, LeadSpec, SenderSettings,
    SequentialIds, VirtualClock,
};
use plera_adapters::sandbox::{LedgerEntry, SandboxConfig, SandboxLead, SandboxWorld};
use plera_adapters::store::Store;
use plera_domain::ids::{AccountId, CampaignId, LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::play::Play;
use plera_domain::ports::Clock;
use plera_domain::quota::window::local_day;
use plera_domain::values::{Action, ConnectionDegree, Limits, Tier, WorkingHours};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

pub use plera_actors::driver::{CrashPoint, CrashPoints};

/// One `#[tokio::test]` per event store for each `async fn name(kind: StoreKind)` listed: the
/// module `name` holds `memory`, `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_every_store {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use $crate::StoreKind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$case(StoreKind::Memory).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case(StoreKind::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$case(StoreKind::Postgres).await
            }
        }
    )*};
}

/// The same for the SQL stores only (what must survive the process: restarts).
#[macro_export]
macro_rules! on_sql_stores {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use $crate::StoreKind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case(StoreKind::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$case(StoreKind::Postgres).await
            }
        }
    )*};
}

/// What the store was asked during ticks (not during start-up, enrolment or inbound events).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickCalls {
    /// Ticks run.
    pub ticks: usize,
    /// Everything asked of the store during them.
    pub total: StoreCalls,
    /// The most appends one tick made.
    pub max_appends: usize,
}

/// The engine, the world and the clock of one test run.
pub struct Harness {
    /// The engine (rebuilt after a crash or a restart).
    pub engine: Engine,
    /// The sandbox world: the provider outlives every engine process.
    pub world: SandboxWorld,
    /// The virtual clock.
    pub clock: Arc<VirtualClock>,
    /// The current process's event log (counting the calls made to it).
    pub log: Arc<dyn EventLog>,
    /// The current process's lead directory.
    pub directory: Arc<dyn LeadDirectory>,
    /// The workspace.
    pub workspace: WorkspaceId,
    seed: u64,
    ids: Arc<SequentialIds>,
    crash: Option<Arc<dyn CrashPoints>>,
    /// Senders with their settings, for the ledger checks.
    pub senders: BTreeMap<AccountId, SenderSettings>,
    /// How many times the engine was rebuilt (after a crash or a restart).
    pub restarts: usize,
    /// What the store was asked during ticks.
    pub tick_calls: TickCalls,
    calls: Arc<Mutex<StoreCalls>>,
    store: Option<Store>,
    /// Last, so it outlives the pools on it.
    db: TestDb,
}

impl Harness {
    /// A fresh engine on a fresh store of `kind` and a sandbox world seeded with `seed`,
    /// starting at `start`.
    pub async fn new(
        seed: u64,
        start: DateTime<Utc>,
        kind: StoreKind,
        crash: Option<Arc<dyn CrashPoints>>,
    ) -> Self {
        Self::with_world(SandboxConfig::seeded(seed), start, kind, crash).await
    }

    /// The same with a world configured by hand (its seed is the engine's too).
    pub async fn with_world(
        config: SandboxConfig,
        start: DateTime<Utc>,
        kind: StoreKind,
        crash: Option<Arc<dyn CrashPoints>>,
    ) -> Self {
        let seed = config.seed;
        let clock = Arc::new(VirtualClock::new(start));
        let world = SandboxWorld::new(config, clock.clone());
        let ids = Arc::new(SequentialIds::default());
        let db = TestDb::new(kind).await;
        let calls = Arc::new(Mutex::new(StoreCalls::default()));
        let opened = db.open().await;
        let log: Arc<dyn EventLog> = Arc::new(CountingLog::new(opened.log, calls.clone()));
        let directory = opened.directory;
        let engine = build(seed, &clock, &world, &log, &directory, &ids, crash.clone()).await;
        Self {
            engine,
            world,
            clock,
            log,
            directory,
            workspace: WorkspaceId::new("ws"),
            seed,
            ids,
            crash,
            senders: BTreeMap::new(),
            restarts: 0,
            tick_calls: TickCalls::default(),
            calls,
            store: opened.store,
            db,
        }
    }

    /// The store this run is on.
    pub fn kind(&self) -> StoreKind {
        self.db.kind()
    }

    /// The database's URL (`None` in memory).
    pub fn url(&self) -> Option<&str> {
        self.db.url()
    }

    /// The virtual clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Everything asked of the store so far, by every engine of this run.
    pub fn store_calls(&self) -> StoreCalls {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Connects a sender through the hosted-auth flow and adds it to the world.
    pub async fn connect(&mut self, provider: &str, settings: SenderSettings) -> AccountId {
        let account = connect_sender(
            &self.engine,
            &self.world,
            &self.workspace,
            provider,
            &settings,
        )
        .await;
        self.senders.insert(account.clone(), settings);
        account
    }

    /// Runs the world and the engine until `end`: advance to the next due time, deliver what the
    /// world has to say, run what is due. An injected crash rebuilds the engine from the store.
    pub async fn run_until(&mut self, end: DateTime<Utc>) {
        self.drive(end, false).await;
    }

    /// Runs like [`run_until`](Self::run_until) but stops at the first injected crash, leaving
    /// the crashed engine in place (the clock at the crash); true if it crashed.
    pub async fn run_until_crash(&mut self, end: DateTime<Utc>) -> bool {
        self.drive(end, true).await
    }

    async fn drive(&mut self, end: DateTime<Utc>, stop_on_crash: bool) -> bool {
        for _ in 0..2_000_000 {
            let now = self.clock.now();
            for event in self.world.take_notifications(now) {
                self.ingest(event).await;
            }
            let before = self.store_calls();
            let ticked = self.engine.tick().await;
            self.count_tick(&before);
            if let Err(e) = ticked {
                assert_eq!(e, plera_actors::EngineError::Crashed, "tick failed: {e}");
                if stop_on_crash {
                    return true;
                }
                self.restart().await;
                continue;
            }
            let engine_next = self.engine.next_due().await.expect("next due");
            let world_next = self.world.next_notification_at();
            let next = [engine_next, world_next].into_iter().flatten().min();
            match next {
                Some(t) if t <= end => self.clock.advance_to(t.max(now)),
                _ => break,
            }
        }
        self.clock.advance_to(end);
        false
    }

    fn count_tick(&mut self, before: &StoreCalls) {
        let delta = self.store_calls().since(before);
        let t = &mut self.tick_calls;
        t.ticks += 1;
        t.max_appends = t.max_appends.max(delta.appends);
        t.total.appends += delta.appends;
        t.total.appended_events += delta.appended_events;
        t.total.loads.extend(delta.loads);
        t.total.reads += delta.reads;
        t.total.events_read += delta.events_read;
        t.total.sender_actions += delta.sender_actions;
    }

    async fn ingest(&mut self, event: plera_domain::ports::InboundEvent) {
        let expired = match &event {
            plera_domain::ports::InboundEvent::AccountStatus {
                account,
                status: plera_domain::ports::AccountStatusSignal::CredentialsExpired,
                ..
            } => Some(account.clone()),
            _ => None,
        };
        self.engine
            .ingest(&self.workspace, event)
            .await
            .expect("ingest");
        if let Some(account) = expired {
            // The user reconnects at once through a reconnect flow.
            let link = self
                .engine
                .start_connection(&self.workspace, &OwnerId::new("owner"), Some(&account))
                .await
                .expect("reconnect link");
            let settings = self.senders[&account].clone();
            self.world.reconnect(&account).expect("world reconnect");
            self.engine
                .complete_connection(&link.state, &ProviderAccountId::new("again"), settings)
                .await
                .expect("reconnect");
        }
    }

    /// Ends this engine "process" and starts another on the same database: the engine is shut
    /// down, the store closed and dropped, the database reopened with `open_store` (in memory,
    /// the same log and directory are kept), and a new engine built from it.
    pub async fn restart(&mut self) {
        // `shutdown` consumes a handle; every clone talks to the same (now stopped) engine.
        self.engine.clone().shutdown().await;
        if let Some(store) = self.store.take() {
            store.close().await;
        }
        if self.kind() != StoreKind::Memory {
            let opened = self.db.open().await;
            self.log = Arc::new(CountingLog::new(opened.log, self.calls.clone()));
            self.directory = opened.directory;
            self.store = opened.store;
        }
        self.engine = build(
            self.seed,
            &self.clock,
            &self.world,
            &self.log,
            &self.directory,
            &self.ids,
            self.crash.clone(),
        )
        .await;
        self.restarts += 1;
    }

    /// Stops the engine and closes the store (the database itself goes when the harness does).
    pub async fn finish(mut self) {
        self.engine.clone().shutdown().await;
        if let Some(store) = self.store.take() {
            store.close().await;
        }
    }

    /// Every event of the log, in position order.
    pub async fn events(&self) -> Vec<StoredEvent> {
        self.log.read_after(0, usize::MAX).await.expect("read")
    }

    /// Creates a campaign running the LinkedIn-first play over `senders` and the mailbox `mb`.
    pub async fn campaign(&mut self, id: &str, senders: Vec<AccountId>) -> CampaignId {
        linkedin_first_campaign(&self.engine, &self.workspace, id, senders).await
    }

    /// Enrolls `n` second-degree leads `{prefix}-{i}` (added to the world too), all in one
    /// commit. Their profiles differ per lead, so texts show whose profile rendered them.
    pub async fn enroll(&mut self, campaign: &CampaignId, prefix: &str, n: usize) {
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
                profile: LeadProfile::new(
                    &format!("Ada{i}"),
                    "Lovelace",
                    &format!("Acme {prefix}"),
                )
                .with_var("sender_first_name", "Alice")
                .with_email(&email),
                connection_degree: ConnectionDegree::Second,
                sender: None,
            });
        }
        self.engine
            .enroll_many(&self.workspace, campaign, specs, EnrollOptions::default())
            .await
            .expect("enroll");
    }

    /// Checks the sandbox's ledger against every sender's limits, working hours and the rule
    /// that no action happens twice. Returns the violations found.
    pub fn ledger_violations(&self) -> Vec<String> {
        let ledger = self.world.ledger();
        let mut violations = Vec::new();
        let mut per_day: HashMap<(AccountId, Action, chrono::NaiveDate), u32> = HashMap::new();
        let mut invites: HashMap<AccountId, Vec<DateTime<Utc>>> = HashMap::new();
        let mut keys: HashMap<(String, Action), u32> = HashMap::new();
        let mut invited: HashMap<(AccountId, String), u32> = HashMap::new();
        for e in &ledger {
            *keys.entry((e.key.clone(), e.action)).or_default() += 1;
            let Some(account) = &e.account_id else {
                continue;
            };
            let Some(s) = self.senders.get(account) else {
                continue;
            };
            let local = e.at.with_timezone(&s.timezone).time();
            if !s.working_hours.contains(local) {
                violations.push(format!("{} outside working hours: {e:?}", e.action));
            }
            let day = local_day(s.timezone, e.at);
            *per_day.entry((account.clone(), e.action, day)).or_default() += 1;
            if e.action == Action::Invite {
                invites.entry(account.clone()).or_default().push(e.at);
                *invited
                    .entry((account.clone(), e.lead_id.to_string()))
                    .or_default() += 1;
            }
        }
        for ((account, action, day), n) in per_day {
            let limits = self.senders[&account].limits.unwrap_or(Limits {
                daily_invites: 0,
                daily_messages: 0,
                weekly_invites: 0,
            });
            let cap = match action {
                Action::Invite => limits.daily_invites,
                Action::Message => limits.daily_messages,
                Action::Email => u32::MAX,
            };
            if n > cap {
                violations.push(format!("{account} sent {n} {action}s on {day} (cap {cap})"));
            }
        }
        for (account, mut times) in invites {
            times.sort();
            let weekly = self.senders[&account]
                .limits
                .map_or(0, |l| l.weekly_invites);
            for (i, t) in times.iter().enumerate() {
                let in_window = times[..=i]
                    .iter()
                    .filter(|u| **u > *t - Duration::days(7))
                    .count() as u32;
                if in_window > weekly {
                    violations.push(format!("{account}: {in_window} invites in 7 days to {t}"));
                }
            }
        }
        for ((key, action), n) in keys {
            if n > 1 {
                violations.push(format!("{action} of {key} performed {n} times"));
            }
        }
        for ((account, lead), n) in invited {
            if n > 1 {
                violations.push(format!("{account} invited {lead} {n} times"));
            }
        }
        violations
    }

    /// The ledger.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.world.ledger()
    }
}

/// Connects a sender on `engine` through the hosted-auth flow and adds its account to the
/// sandbox world, as every test that connects a sender does.
pub async fn connect_sender(
    engine: &Engine,
    world: &SandboxWorld,
    workspace: &WorkspaceId,
    provider: &str,
    settings: &SenderSettings,
) -> AccountId {
    let link = engine
        .start_connection(workspace, &OwnerId::new("owner"), None)
        .await
        .expect("start connection");
    let provider = ProviderAccountId::new(provider);
    let account = engine
        .complete_connection(&link.state, &provider, settings.clone())
        .await
        .expect("complete connection");
    world.add_account_in(account.clone(), provider, settings.tier, settings.timezone);
    account
}

/// Registers the mailbox `mb` every test campaign emails from.
pub async fn mailbox(h: &Harness) {
    register_mailbox(&h.engine, &h.workspace).await;
}

/// Registers the mailbox `mb` every test campaign emails from, on any engine.
pub async fn register_mailbox(engine: &Engine, ws: &WorkspaceId) {
    engine
        .register_mailbox(ws, &"mb".into(), "sales@acme.io")
        .await
        .expect("mailbox");
}

/// Creates campaign `id` running the LinkedIn-first play over `senders` and the mailbox `mb`,
/// on any engine.
pub async fn linkedin_first_campaign(
    engine: &Engine,
    ws: &WorkspaceId,
    id: &str,
    senders: Vec<AccountId>,
) -> CampaignId {
    engine
        .create_campaign(
            ws,
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

async fn build(
    seed: u64,
    clock: &Arc<VirtualClock>,
    world: &SandboxWorld,
    log: &Arc<dyn EventLog>,
    directory: &Arc<dyn LeadDirectory>,
    ids: &Arc<SequentialIds>,
    crash: Option<Arc<dyn CrashPoints>>,
) -> Engine {
    let mut builder = Engine::builder()
        .event_log(Arc::clone(log))
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(ids.clone())
        .lead_directory(Arc::clone(directory))
        .seed(seed)
        .deterministic_tokens();
    if let Some(crash) = crash {
        builder = builder.crash_points(crash);
    }
    builder.build().await.expect("engine builds")
}

/// Settings of a premium sender in London, 09:00–17:00.
pub fn london_sender(limits: Limits) -> SenderSettings {
    SenderSettings {
        tier: Tier::Premium,
        limits: Some(limits),
        timezone: chrono_tz::Europe::London,
        working_hours: WorkingHours::parse("09:00", "17:00").expect("valid hours"),
        warm_up: false,
    }
}
