//! Shared harness of the integration tests: the real engine against the sandbox world on a
//! virtual clock, and checks of the invariants of DESIGN §5 against the sandbox's ledger.

use chrono::{DateTime, Duration, Utc};
use plera_actors::store::EventLog;
use plera_actors::{
    Engine, LeadDirectory, MemoryLeadDirectory, SenderSettings, SequentialIds, VirtualClock,
};
use plera_adapters::sandbox::{LedgerEntry, SandboxConfig, SandboxWorld};
use plera_domain::ids::{AccountId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::ports::Clock;
use plera_domain::quota::window::local_day;
use plera_domain::values::{Action, Limits, Tier, WorkingHours};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use plera_actors::driver::{CrashPoint, CrashPoints};

/// The engine, the world and the clock of one test run.
pub struct Harness {
    /// The engine (rebuilt after a crash).
    pub engine: Engine,
    /// The sandbox world.
    pub world: SandboxWorld,
    /// The virtual clock.
    pub clock: Arc<VirtualClock>,
    /// The event log, kept across rebuilds.
    pub log: Arc<dyn EventLog>,
    /// Lead profiles, kept across rebuilds.
    pub directory: Arc<dyn LeadDirectory>,
    /// The workspace.
    pub workspace: WorkspaceId,
    seed: u64,
    ids: Arc<SequentialIds>,
    crash: Option<Arc<dyn CrashPoints>>,
    /// Senders with their settings, for the ledger checks.
    pub senders: BTreeMap<AccountId, SenderSettings>,
    /// How many times the engine was rebuilt after a crash.
    pub restarts: usize,
}

impl Harness {
    /// A fresh engine on `log` and a sandbox world seeded with `seed`, starting at `start`.
    pub async fn new(
        seed: u64,
        start: DateTime<Utc>,
        log: Arc<dyn EventLog>,
        crash: Option<Arc<dyn CrashPoints>>,
    ) -> Self {
        let clock = Arc::new(VirtualClock::new(start));
        let world = SandboxWorld::new(SandboxConfig::seeded(seed), clock.clone());
        let directory: Arc<dyn LeadDirectory> = Arc::new(MemoryLeadDirectory::default());
        let ids = Arc::new(SequentialIds::default());
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
        }
    }

    /// Connects a sender through the hosted-auth flow and adds it to the world.
    pub async fn connect(&mut self, provider: &str, settings: SenderSettings) -> AccountId {
        let link = self
            .engine
            .start_connection(&self.workspace, &OwnerId::new("owner"), None)
            .await
            .expect("start connection");
        let account = self
            .engine
            .complete_connection(
                &link.state,
                &ProviderAccountId::new(provider),
                settings.clone(),
            )
            .await
            .expect("complete connection");
        self.world.add_account_in(
            account.clone(),
            ProviderAccountId::new(provider),
            settings.tier,
            settings.timezone,
        );
        self.senders.insert(account.clone(), settings);
        account
    }

    /// Runs the world and the engine until `end`: advance to the next due time, deliver what the
    /// world has to say, run what is due. An injected crash rebuilds the engine from the log.
    pub async fn run_until(&mut self, end: DateTime<Utc>) {
        for _ in 0..2_000_000 {
            let now = self.clock.now();
            for event in self.world.take_notifications(now) {
                self.ingest(event).await;
            }
            if let Err(e) = self.engine.tick().await {
                assert_eq!(e, plera_actors::EngineError::Crashed, "tick failed: {e}");
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

    /// Drops the engine (as a crash would) and builds a new one from the same log.
    pub async fn restart(&mut self) {
        let old = std::mem::replace(
            &mut self.engine,
            build(
                self.seed,
                &self.clock,
                &self.world,
                &self.log,
                &self.directory,
                &self.ids,
                self.crash.clone(),
            )
            .await,
        );
        old.shutdown().await;
        self.restarts += 1;
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
