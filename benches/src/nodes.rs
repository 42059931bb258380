//! Scale-out (issue 10): throughput of 1, 2 and 4 engine nodes on one PostgreSQL schema, beside
//! the plain engine (no cluster) as the reference.
//!
//! Set-up as [`Rig`]: 20 senders, one campaign of `PLAY_STEPS` messages without delay, leads
//! 1st-degree with an explicit sender, a quiet sandbox world, pacing off. Then K engines, each
//! with `ClusterConfig { node: "node-i", .. }` on its own `open_store` (its own pool, as a
//! separate process would have), all on one virtual clock and one sandbox world (the provider
//! every node talks to). Leases are settled first (ticks with nothing enrolled, the clock moved
//! by `renew_every` between rounds, until the nodes' `running_senders` are disjoint and cover
//! every sender); only then are the leads enrolled, through a plain set-up engine; every node
//! reads them at its first measured tick (a clustered tick reads the log first). The measured phase
//! runs the K nodes' tick loops concurrently, one tokio task each, until every node has run every
//! step of its senders' leads; the sandbox's ledger is checked to hold exactly one message per
//! step. A long `ttl` (1 virtual day) and `renew_every` (1 virtual hour) keep lease churn out of
//! the measured phase (the virtual clock moves only when a node has nothing due before its next
//! renewal).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Virtual;
use plera_actors::driver::ClusterConfig;
use plera_actors::store::EventLog;
use plera_actors::{Engine, LeadDirectory, SequentialIds, VirtualClock};
use plera_adapters::sandbox::SandboxWorld;
use plera_adapters::store::Store;
use plera_domain::ids::AccountId;
use plera_domain::ports::Clock;
use tokio::sync::Barrier;

use crate::db::{BenchDb, Kind};
use crate::machine::{self, CpuMeter};
use crate::report::Figure;
use crate::rig::{no_pacing, open, Rig, RigSize, RunCount, PLAY_STEPS};
use crate::timing::{Snapshot, Stats, TimedDirectory, TimedLog};

/// How long a lease lasts unrenewed in the bench (virtual time).
pub const TTL: Virtual = Virtual::days(1);
/// How often a node renews its leases in the bench (virtual time).
pub const RENEW_EVERY: Virtual = Virtual::hours(1);

/// Ticks a node may take before the run is declared stuck.
const MAX_TICKS: usize = 1_000_000;
/// Rounds of ticks (each followed by `RENEW_EVERY` of virtual time) allowed for leases to settle.
const MAX_SETTLE_ROUNDS: usize = 40;

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodesOptions {
    /// Node counts to measure (each with a cluster config, 1 included).
    pub nodes: Vec<usize>,
    /// Senders in the cluster.
    pub senders: usize,
    /// Leads per sender (each runs `PLAY_STEPS` steps; at most 25, the daily message limit).
    pub leads_per_sender: usize,
    /// Runs of each configuration, interleaved.
    pub repeats: usize,
    /// Also sample PostgreSQL's lock table and activity every `SAMPLE_EVERY` during the
    /// measured phase (one more connection and about 100 small queries a second).
    pub sample_locks: bool,
}

impl Default for NodesOptions {
    fn default() -> Self {
        Self {
            nodes: vec![1, 2, 4],
            senders: 20,
            leads_per_sender: 20,
            repeats: 3,
            sample_locks: false,
        }
    }
}

/// Which engines run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// One engine without `cluster(..)`: reads nothing after start-up, appends unconditionally.
    Plain,
    /// K clustered engines, each on its own pool.
    Cluster(usize),
}

impl Setup {
    /// Its name in reports.
    pub fn name(self) -> String {
        match self {
            Setup::Cluster(1) => "1 node (cluster config)".into(),
            Setup::Cluster(k) => format!("{k} nodes"),
            Setup::Plain => "plain engine (no cluster)".into(),
        }
    }

    fn nodes(self) -> usize {
        match self {
            Setup::Plain => 1,
            Setup::Cluster(k) => k,
        }
    }
}

/// What one measured run did.
#[derive(Clone, Debug)]
pub struct NodesRun {
    /// Which engines.
    pub setup: Setup,
    /// Steps started, all nodes.
    pub steps: usize,
    /// Events appended, all nodes.
    pub events: usize,
    /// Ticks, all nodes.
    pub ticks: usize,
    /// Ticks that started nothing (a conflict, a lost lease, or nothing due yet).
    pub idle_ticks: usize,
    /// Senders each node ran.
    pub shares: Vec<usize>,
    /// Wall time from the common start to the last node's last tick.
    pub wall: Duration,
    /// Each node's wall time to its own last tick.
    pub node_walls: Vec<Duration>,
    /// Calls to the log and the lead directory, all nodes.
    pub io: Snapshot,
    /// Virtual time the clock moved during the measured phase.
    pub virtual_time: Virtual,
    /// The whole machine's busy fraction during the measured phase (everyone's work).
    pub machine_busy: Option<f64>,
    /// This process's CPU time during the measured phase.
    pub cpu: Option<Duration>,
    /// What the lock sampler saw, when it ran.
    pub locks: Option<LockSamples>,
}

impl NodesRun {
    /// Steps per second.
    pub fn steps_per_s(&self) -> f64 {
        self.steps as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Events appended per second.
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Mean append latency in milliseconds (from the caller: lock wait included).
    pub fn append_ms(&self) -> f64 {
        self.io.append_time.as_secs_f64() * 1e3 / self.io.appends.max(1) as f64
    }

    /// A short account of the run.
    pub fn describe(&self) -> String {
        let k = self.setup.nodes() as f64;
        let node_time = self.wall.as_secs_f64() * k;
        let pct = |d: Duration| 100.0 * d.as_secs_f64() / node_time.max(1e-9);
        let per = |d: Duration, n: u64| d.as_secs_f64() * 1e3 / n.max(1) as f64;
        let cpu = self.cpu.map_or("?".into(), |c| {
            format!("{:.0} %", 100.0 * c.as_secs_f64() / self.wall.as_secs_f64())
        });
        let busy = self
            .machine_busy
            .map_or("?".into(), |b| format!("{:.0} %", 100.0 * b));
        let locks = self.locks.map_or(String::new(), |l| {
            format!(
                "; sampled {} times: append lock held {:.0} %, {:.2} appenders waiting for it \
                 on average, a backend in a WAL write or flush {:.0} %",
                l.samples,
                100.0 * l.held_fraction(),
                l.mean_waiting(),
                100.0 * l.wal_fraction()
            )
        });
        format!(
            "{} steps in {} ticks ({} idle), shares {:?}, {} events; appends {} ({:.2} ms each, \
             {:.0} % of node time); log reads {} ({:.2} ms each, {:.0} %), {} events read \
             ({:.1} per event appended); profile reads {} ({:.2} ms each, {:.0} %); \
             clock moved {} min; bench CPU {cpu}, machine busy {busy}{locks}",
            self.steps,
            self.ticks,
            self.idle_ticks,
            self.shares,
            self.events,
            self.io.appends,
            self.append_ms(),
            pct(self.io.append_time),
            self.io.scans,
            per(self.io.scan_time, self.io.scans),
            pct(self.io.scan_time),
            self.io.scanned,
            self.io.scanned as f64 / self.io.appended.max(1) as f64,
            self.io.gets,
            per(self.io.get_time, self.io.gets),
            pct(self.io.get_time),
            self.virtual_time.num_minutes(),
        )
    }
}

/// How often the lock sampler looks.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// What sampling `pg_locks` and `pg_stat_activity` of the bench database saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockSamples {
    /// Samples taken.
    pub samples: u64,
    /// Samples in which a session held an advisory lock (the store's append lock: appends are
    /// the only advisory lock users in the bench).
    pub held: u64,
    /// Sessions waiting for an advisory lock, summed over the samples.
    pub waiting: u64,
    /// Samples in which a session waited on a WAL write or flush.
    pub wal: u64,
}

impl LockSamples {
    /// The fraction of samples with the append lock held: its utilisation.
    pub fn held_fraction(&self) -> f64 {
        self.held as f64 / self.samples.max(1) as f64
    }

    /// Appenders waiting for the lock, on average.
    pub fn mean_waiting(&self) -> f64 {
        self.waiting as f64 / self.samples.max(1) as f64
    }

    /// The fraction of samples with a session in a WAL write or flush.
    pub fn wal_fraction(&self) -> f64 {
        self.wal as f64 / self.samples.max(1) as f64
    }
}

/// Samples the database of `url` every `SAMPLE_EVERY` until `stop` is set.
async fn sample_locks(url: String, stop: Arc<AtomicBool>) -> Result<LockSamples, String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = LockSamples::default();
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        let (held, waiting, wal): (i64, i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                 WHERE l.locktype = 'advisory' AND l.granted \
                   AND d.datname = current_database()), \
               (SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                 WHERE l.locktype = 'advisory' AND NOT l.granted \
                   AND d.datname = current_database()), \
               (SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() \
                   AND wait_event IN ('WALSync', 'WALWrite'))",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
        out.samples += 1;
        out.held += u64::from(held > 0);
        out.waiting += waiting as u64;
        out.wal += u64::from(wal > 0);
    }
    let _ = conn.close().await;
    Ok(out)
}

/// Builds one engine on the rig's world and clock; clustered when `cluster` is given.
async fn engine(
    log: Arc<dyn EventLog>,
    directory: Arc<dyn LeadDirectory>,
    world: &SandboxWorld,
    clock: &Arc<VirtualClock>,
    ids: &Arc<SequentialIds>,
    cluster: Option<ClusterConfig>,
) -> Result<Engine, String> {
    let mut builder = Engine::builder()
        .event_log(log)
        .lead_directory(directory)
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(ids.clone())
        .quota_policy(no_pacing())
        .seed(1)
        .deterministic_tokens();
    if let Some(c) = cluster {
        builder = builder.cluster(c);
    }
    builder.build().await.map_err(|e| e.to_string())
}

/// Opens clustered node `i` on a store of its own at `url` (its own pool, as a separate process
/// would have), on the rig's world and clock; `wrap` may decorate its log and directory.
pub(crate) async fn open_node(
    url: &str,
    i: usize,
    rig: &Rig,
    ids: &Arc<SequentialIds>,
    wrap: impl Fn(
        Arc<dyn EventLog>,
        Arc<dyn LeadDirectory>,
    ) -> (Arc<dyn EventLog>, Arc<dyn LeadDirectory>),
) -> Result<(Store, Engine), String> {
    let store = open(url).await?;
    let leases = store
        .leases()
        .ok_or("this store keeps no leases: use PostgreSQL")?;
    let (log, dir) = wrap(store.event_log(), store.lead_directory());
    let cluster = ClusterConfig {
        node: format!("node-{i}"),
        leases,
        ttl: TTL,
        renew_every: RENEW_EVERY,
    };
    let node = engine(log, dir, &rig.world, &rig.clock, ids, Some(cluster)).await?;
    Ok((store, node))
}

/// Whether every sender runs on exactly one node and every node runs its share
/// (⌈senders / nodes⌉ at most, and together all of them).
pub fn settled(running: &[Vec<AccountId>], senders: &[AccountId]) -> bool {
    let nodes = running.len().max(1);
    let share = senders.len().div_ceil(nodes);
    let mut seen = std::collections::BTreeSet::new();
    for r in running {
        if r.len() > share {
            return false;
        }
        for a in r {
            if !seen.insert(a) {
                return false;
            }
        }
    }
    seen.len() == senders.len() && senders.iter().all(|a| seen.contains(a))
}

/// Ticks every node, round after round, moving the clock by `RENEW_EVERY` between rounds, until
/// the leases are settled; returns the rounds it took.
async fn settle(
    nodes: &[Engine],
    clock: &VirtualClock,
    senders: &[AccountId],
) -> Result<usize, String> {
    for round in 1..=MAX_SETTLE_ROUNDS {
        for n in nodes {
            n.tick().await.map_err(|e| e.to_string())?;
        }
        let running: Vec<Vec<AccountId>> = nodes.iter().map(|n| n.running_senders()).collect();
        if settled(&running, senders) {
            return Ok(round);
        }
        clock.advance(RENEW_EVERY + Virtual::seconds(1));
    }
    Err(format!(
        "leases not settled after {MAX_SETTLE_ROUNDS} rounds: shares {:?}",
        nodes
            .iter()
            .map(|n| n.running_senders().len())
            .collect::<Vec<_>>()
    ))
}

/// One node's measured loop: ticks until it has started `target` steps.
async fn drive(
    engine: Engine,
    clock: Arc<VirtualClock>,
    target: usize,
    start: Arc<Barrier>,
) -> Result<(RunCount, usize, Instant), String> {
    start.wait().await;
    let mut count = RunCount::default();
    let mut idle = 0;
    while count.steps < target {
        if count.ticks >= MAX_TICKS {
            return Err(format!(
                "stuck: {} of {target} steps after {} ticks",
                count.steps, count.ticks
            ));
        }
        let report = engine.tick().await.map_err(|e| e.to_string())?;
        count.ticks += 1;
        count.steps += report.started;
        count.events += report.events;
        if report.started == 0 {
            idle += 1;
        }
        if let Some(t) = report.next_due {
            clock.advance_to(t.max(clock.now()));
        }
    }
    Ok((count, idle, Instant::now()))
}

/// One measured run of `setup` on a fresh schema.
pub async fn run(pg_base: &str, setup: Setup, o: &NodesOptions) -> Result<NodesRun, String> {
    let db = BenchDb::new(Kind::Postgres, pg_base).await?;
    let setup_store = open(db.url()).await?;
    let setup_handles = (setup_store.event_log(), setup_store.lead_directory());
    let stats = Arc::new(Stats::default());
    let timed = |log: Arc<dyn EventLog>, dir: Arc<dyn LeadDirectory>| {
        let log: Arc<dyn EventLog> = Arc::new(TimedLog::new(log, Arc::clone(&stats)));
        let dir: Arc<dyn LeadDirectory> = Arc::new(TimedDirectory::new(dir, Arc::clone(&stats)));
        (log, dir)
    };
    let size = |leads_per_sender| RigSize {
        senders: o.senders,
        leads_per_sender,
        history: 1,
        filler: 0,
    };
    let mut stores = Vec::new();
    let mut nodes: Vec<Engine> = Vec::new();
    let rig = match setup {
        Setup::Plain => {
            // As the command-path bench: the measured engine starts from the log after set-up.
            let store = open(db.url()).await?;
            let measured = timed(store.event_log(), store.lead_directory());
            stores.push(store);
            let rig = Rig::new(setup_handles, measured, size(o.leads_per_sender)).await?;
            nodes.push(rig.engine.clone());
            rig
        }
        Setup::Cluster(k) => {
            // Senders and campaign first; the nodes start, take their leases, and only then
            // are the leads enrolled (through the rig's plain engine on the set-up store), so
            // no step runs before the measured phase.
            let mut rig = Rig::new(setup_handles.clone(), setup_handles, size(0)).await?;
            let ids = Arc::new(SequentialIds::default());
            for i in 0..k {
                let (store, node) = open_node(db.url(), i, &rig, &ids, timed).await?;
                nodes.push(node);
                stores.push(store);
            }
            let rounds = settle(&nodes, &rig.clock, &rig.senders).await?;
            eprintln!("  {k} node(s): leases settled in {rounds} round(s)");
            // Each node reads the enrolments at its first measured tick (one read of a few
            // hundred events, inside the measured time).
            rig.enroll(o.leads_per_sender, "lead").await?;
            rig
        }
    };

    // Each node's share of the work: the steps of its senders' leads.
    let shares: Vec<Vec<AccountId>> = match setup {
        Setup::Plain => vec![rig.senders.clone()],
        Setup::Cluster(_) => nodes.iter().map(|n| n.running_senders()).collect(),
    };
    let targets: Vec<usize> = shares
        .iter()
        .map(|mine| {
            rig.sequences
                .iter()
                .filter(|(_, _, a)| mine.contains(a))
                .count()
                * PLAY_STEPS
        })
        .collect();
    let expected = rig.sequences.len() * PLAY_STEPS;
    if targets.iter().sum::<usize>() != expected {
        return Err(format!(
            "shares {:?} do not cover the {expected} steps",
            targets
        ));
    }

    let barrier = Arc::new(Barrier::new(nodes.len() + 1));
    let tasks: Vec<_> = nodes
        .iter()
        .zip(&targets)
        .map(|(n, &target)| {
            tokio::spawn(drive(
                n.clone(),
                Arc::clone(&rig.clock),
                target,
                Arc::clone(&barrier),
            ))
        })
        .collect();
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = o.sample_locks.then(|| {
        tokio::spawn(sample_locks(
            db.url().to_string(),
            Arc::clone(&stop_sampling),
        ))
    });
    let before = stats.snapshot();
    let clock_before = rig.clock.now();
    let meter = CpuMeter::start();
    barrier.wait().await;
    let began = Instant::now();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.map_err(|e| e.to_string())??);
    }
    let wall = began.elapsed();
    let (machine_busy, cpu) = meter.stop();
    stop_sampling.store(true, Ordering::Relaxed);
    let locks = match sampler {
        Some(s) => Some(s.await.map_err(|e| e.to_string())??),
        None => None,
    };
    let io = stats.snapshot().since(&before);
    let virtual_time = rig.clock.now() - clock_before;
    let sent = rig.world.ledger().len();

    for n in nodes {
        if setup != Setup::Plain {
            n.shutdown().await;
        }
    }
    rig.stop().await;
    for s in stores {
        s.close().await;
    }
    setup_store.close().await;
    db.drop_now().await?;

    let steps: usize = counts.iter().map(|(c, _, _)| c.steps).sum();
    if steps != expected || sent != expected {
        return Err(format!(
            "{}: {steps} steps started, {sent} messages in the sandbox's ledger, {expected} expected",
            setup.name()
        ));
    }
    Ok(NodesRun {
        setup,
        steps,
        events: counts.iter().map(|(c, _, _)| c.events).sum(),
        ticks: counts.iter().map(|(c, _, _)| c.ticks).sum(),
        idle_ticks: counts.iter().map(|(_, i, _)| i).sum(),
        shares: shares.iter().map(Vec::len).collect(),
        wall,
        node_walls: counts
            .iter()
            .map(|(_, _, end)| end.saturating_duration_since(began))
            .collect(),
        io,
        virtual_time,
        machine_busy,
        cpu,
        locks,
    })
}

/// Every configuration `repeats` times, interleaved (1, 2, 4, plain, 1, 2, 4, plain, ...).
pub async fn bench(pg_base: &str, o: &NodesOptions) -> Result<Vec<Figure>, String> {
    let mut setups: Vec<Setup> = o.nodes.iter().map(|&k| Setup::Cluster(k)).collect();
    setups.push(Setup::Plain);
    let mut runs: BTreeMap<usize, Vec<NodesRun>> = BTreeMap::new();
    for r in 0..o.repeats {
        for (i, &setup) in setups.iter().enumerate() {
            eprintln!("nodes: round {} of {}, {}", r + 1, o.repeats, setup.name());
            let run = run(pg_base, setup, o).await?;
            eprintln!(
                "  {:.0} steps/s, {:.0} events/s; {}",
                run.steps_per_s(),
                run.events_per_s(),
                run.describe()
            );
            runs.entry(i).or_default().push(run);
        }
    }
    let load = machine::load_1m();
    let mut figures = Vec::new();
    for (i, setup) in setups.iter().enumerate() {
        let Some(rs) = runs.get(&i) else { continue };
        let subject = format!("{}, {} senders", setup.name(), o.senders);
        let last = rs.last().map(NodesRun::describe).unwrap_or_default();
        let values = |f: fn(&NodesRun) -> f64| rs.iter().map(f).collect::<Vec<f64>>();
        figures.push(
            Figure::from_runs(
                "nodes",
                "postgres",
                format!("{subject}: steps"),
                "steps/s",
                values(NodesRun::steps_per_s),
                load,
            )
            .note(format!("last run: {last}")),
        );
        figures.push(Figure::from_runs(
            "nodes",
            "postgres",
            format!("{subject}: events appended"),
            "events/s",
            values(NodesRun::events_per_s),
            load,
        ));
        figures.push(Figure::from_runs(
            "nodes",
            "postgres",
            format!("{subject}: append latency (lock wait included)"),
            "ms",
            values(NodesRun::append_ms),
            load,
        ));
        if rs.iter().all(|r| r.locks.is_some()) {
            let held = |r: &NodesRun| r.locks.map_or(0.0, |l| 100.0 * l.held_fraction());
            figures.push(Figure::from_runs(
                "nodes",
                "postgres",
                format!("{subject}: append lock held (sampled every 10 ms)"),
                "% of wall",
                rs.iter().map(held).collect(),
                load,
            ));
        }
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<AccountId> {
        names.iter().map(|n| AccountId::new(*n)).collect()
    }

    #[test]
    fn settled_only_when_disjoint_covering_and_within_share() {
        let all = ids(&["a", "b", "c", "d"]);
        assert!(settled(&[ids(&["a", "b"]), ids(&["c", "d"])], &all));
        // One node still holds everything (the other has not taken its share yet).
        assert!(!settled(&[all.clone(), Vec::new()], &all));
        // A sender on two nodes.
        assert!(!settled(&[ids(&["a", "b"]), ids(&["b", "c", "d"])], &all));
        // A sender nobody runs.
        assert!(!settled(&[ids(&["a", "b"]), ids(&["c"])], &all));
        // Uneven but within ⌈4/3⌉ = 2 each.
        assert!(settled(&[ids(&["a", "b"]), ids(&["c"]), ids(&["d"])], &all));
    }
}
