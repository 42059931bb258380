//! Benchmark 1, the command path: steps per second through the whole engine (slot grant →
//! `StepStarted` → sandbox gateway → outcome, with group commits), beside plain cqrs-es doing the
//! same two commits per step and the database's raw single-row-per-transaction insert rate, all
//! at the same concurrency; and the cost per command as a lead's history grows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::db::{BenchDb, Kind};
use crate::report::Figure;
use crate::rig::{open, Rig, RigSize, PLAY_STEPS};
use crate::timing::{Stats, TimedDirectory, TimedLog};
use crate::whatif::{CachedDirectory, WriteBehindLog};
use crate::{cqrs_baseline, machine, raw};
use plera_actors::store::{EventLog, MemoryEventLog};
use plera_actors::{LeadDirectory, MemoryLeadDirectory};

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandOptions {
    /// Senders (engine) = concurrent tasks (baselines).
    pub concurrency: usize,
    /// Leads per sender in the engine run (each runs `PLAY_STEPS` steps).
    pub leads_per_sender: usize,
    /// Steps per task in the cqrs-es run.
    pub cqrs_steps: usize,
    /// Rows per task in the raw insert run.
    pub raw_rows: usize,
    /// Lead history lengths to measure.
    pub histories: Vec<usize>,
    /// Runs of each measurement (interleaved, so load changes hit every subject alike).
    pub repeats: usize,
}

impl Default for CommandOptions {
    fn default() -> Self {
        Self {
            concurrency: 20,
            leads_per_sender: 5,
            cqrs_steps: 25,
            raw_rows: 250,
            histories: vec![10, 100, 1_000],
            repeats: 3,
        }
    }
}

/// Which engine: as it is, or with one of the proposed changes modelled from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The engine as it is.
    AsIs,
    /// Lead profiles cached after their first read (models batched profile reads).
    CachedProfiles,
    /// A tick's outcomes committed with the next tick's starts (one commit per tick).
    OneCommitPerTick,
    /// Both of the above.
    Both,
    /// No database at all: `MemoryEventLog` and `MemoryLeadDirectory` (the engine's own cost).
    NoDatabase,
}

impl Variant {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::AsIs => "plera engine",
            Variant::CachedProfiles => "what-if: profiles cached",
            Variant::OneCommitPerTick => "what-if: one commit per tick",
            Variant::Both => "what-if: profiles cached + one commit per tick",
            Variant::NoDatabase => "engine on the memory log (no database)",
        }
    }
}

type Handles = (Arc<dyn EventLog>, Arc<dyn LeadDirectory>);

/// What one engine run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineRun {
    /// Steps started per second (each through the whole path).
    pub steps_per_s: f64,
    /// Events committed per second: the figure the raw insert rate (one event per
    /// transaction) is the reference for.
    pub events_per_s: f64,
    /// Where the time went.
    pub note: String,
}

/// One engine run on a fresh database.
pub async fn engine_run(
    kind: Kind,
    pg_base: &str,
    size: RigSize,
    variant: Variant,
) -> Result<EngineRun, String> {
    let db = BenchDb::new(kind, pg_base).await?;
    let stores = if variant == Variant::NoDatabase {
        None
    } else {
        Some((open(db.url()).await?, open(db.url()).await?))
    };
    let (setup, (base_log, base_dir)): (Handles, Handles) = match &stores {
        Some((a, b)) => (
            (a.event_log(), a.lead_directory()),
            (b.event_log(), b.lead_directory()),
        ),
        None => {
            let log: Arc<dyn EventLog> = Arc::new(MemoryEventLog::new());
            let dir: Arc<dyn LeadDirectory> = Arc::new(MemoryLeadDirectory::default());
            ((Arc::clone(&log), Arc::clone(&dir)), (log, dir))
        }
    };
    let stats = Arc::new(Stats::default());
    let timed_log: Arc<dyn EventLog> = Arc::new(TimedLog::new(base_log, Arc::clone(&stats)));
    let timed_dir: Arc<dyn LeadDirectory> =
        Arc::new(TimedDirectory::new(base_dir, Arc::clone(&stats)));
    let merge = matches!(variant, Variant::OneCommitPerTick | Variant::Both);
    let cache = matches!(variant, Variant::CachedProfiles | Variant::Both);
    let write_behind = Arc::new(WriteBehindLog::new(timed_log));
    let log: Arc<dyn EventLog> = write_behind.clone();
    let directory: Arc<dyn LeadDirectory> = if cache {
        Arc::new(CachedDirectory::new(timed_dir))
    } else {
        timed_dir
    };
    let rig = Rig::new(setup, (log, directory), size).await?;
    settle_setup_writes(&db).await?;
    let expected = size.senders * size.leads_per_sender * PLAY_STEPS;
    write_behind.hold_outcomes(merge);
    let before = stats.snapshot();
    let began = Instant::now();
    let count = rig.run(usize::MAX).await?;
    write_behind.flush().await.map_err(|e| e.to_string())?;
    let elapsed = began.elapsed();
    let spent = stats.snapshot().since(&before);
    let sent = rig.world.ledger().len();
    rig.stop().await;
    if let Some((a, b)) = stores {
        b.close().await;
        a.close().await;
    }
    db.drop_now().await?;
    if count.steps != expected || sent != expected {
        return Err(format!(
            "engine run did {} steps ({sent} sent), expected {expected}",
            count.steps
        ));
    }
    let note = format!(
        "{} steps in {} ticks ({:.1} steps/tick), {} events; {}",
        count.steps,
        count.ticks,
        count.steps as f64 / count.ticks.max(1) as f64,
        count.events,
        spent.describe(elapsed)
    );
    let seconds = elapsed.as_secs_f64();
    Ok(EngineRun {
        steps_per_s: count.steps as f64 / seconds,
        events_per_s: count.events as f64 / seconds,
        note,
    })
}

/// Checkpoints SQLite's write-ahead log before the measured run, so that the run does not pay
/// for copying the set-up's appends (up to a million events of history) into the database file:
/// a live engine's long history was checkpointed long ago.
async fn settle_setup_writes(db: &BenchDb) -> Result<(), String> {
    if db.kind() != Kind::Sqlite {
        return Ok(());
    }
    let pool = db.sqlite_pool(1).await?;
    let checkpoint = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .map_err(|e| e.to_string());
    pool.close().await;
    checkpoint.map(|_| ())
}

/// Records an engine run as two figures under one subject: steps per second, and events
/// committed per second (`subject` + ", events committed").
fn push_engine(push: &mut impl FnMut(String, &str, f64, String), subject: String, run: EngineRun) {
    push(
        format!("{subject}, events committed"),
        "events/s",
        run.events_per_s,
        "the same runs: events appended by the ticks per second".into(),
    );
    push(subject, "steps/s", run.steps_per_s, run.note);
}

/// Runs every subject `repeats` times, interleaved, on `kind`.
pub async fn bench(kind: Kind, pg_base: &str, o: &CommandOptions) -> Result<Vec<Figure>, String> {
    let c = o.concurrency;
    let mut runs: BTreeMap<String, (Vec<f64>, String, String)> = BTreeMap::new();
    let mut push = |subject: String, unit: &str, value: f64, note: String| {
        let e = runs
            .entry(subject)
            .or_insert_with(|| (Vec::new(), unit.to_string(), String::new()));
        e.0.push(value);
        e.2 = note;
    };
    for r in 0..o.repeats {
        eprintln!(
            "command path on {}: round {} of {}",
            kind.name(),
            r + 1,
            o.repeats
        );
        let connections: &[u32] = match kind {
            Kind::Sqlite => &[1, c as u32],
            Kind::Postgres => &[c as u32],
        };
        for &conns in connections {
            let db = BenchDb::new(kind, pg_base).await?;
            let run = raw::inserts(&db, c, o.raw_rows, conns).await?;
            db.drop_now().await?;
            push(
                format!("a raw single-row insert, {c} tasks, {conns} connection(s)"),
                "rows/s",
                run.rate(),
                format!("{} rows, one per transaction", run.rows),
            );
        }
        for &h in &o.histories {
            let db = BenchDb::new(kind, pg_base).await?;
            let run = cqrs_baseline::run(&db, c, o.cqrs_steps, h).await?;
            db.drop_now().await?;
            push(
                format!("b cqrs-es execute x2, {c} tasks, history {h}"),
                "steps/s",
                run.rate(),
                format!("{} steps, {} retried commands", run.steps, run.retries),
            );
            let size = RigSize {
                senders: c,
                leads_per_sender: o.leads_per_sender,
                history: h,
                filler: 0,
            };
            let run = engine_run(kind, pg_base, size, Variant::AsIs).await?;
            push_engine(
                &mut push,
                format!("c plera engine, {c} senders, history {h}"),
                run,
            );
        }
        // The control: the shortest history in a log as long as the longest history's, so a
        // difference shows whether the cost follows the lead's history or the log's size.
        if let (Some(&lo), Some(&hi)) = (o.histories.first(), o.histories.last()) {
            if hi > lo {
                let leads = c * o.leads_per_sender;
                let size = RigSize {
                    senders: c,
                    leads_per_sender: o.leads_per_sender,
                    history: lo,
                    filler: leads * (hi - lo),
                };
                let run = engine_run(kind, pg_base, size, Variant::AsIs).await?;
                push_engine(
                    &mut push,
                    format!(
                        "d plera engine, {c} senders, history {lo}, log as long as history {hi}'s"
                    ),
                    run,
                );
            }
        }
    }
    let load = machine::load_1m();
    Ok(runs
        .into_iter()
        .map(|(subject, (values, unit, note))| {
            Figure::from_runs("command", kind.name(), &subject[2..], &unit, values, load).note(note)
        })
        .collect())
}

/// The engine alone (and, with `what_if`, every [`Variant`]) at each history, the shortest history
/// in a log as long as the longest's, and the raw insert rate, interleaved run by run: the
/// focused side-by-side run for the flatness target and the proposed changes.
pub async fn engine_bench(
    kind: Kind,
    pg_base: &str,
    o: &CommandOptions,
    what_if: bool,
) -> Result<Vec<Figure>, String> {
    let c = o.concurrency;
    let variants: &[Variant] = if what_if {
        &[
            Variant::AsIs,
            Variant::CachedProfiles,
            Variant::OneCommitPerTick,
            Variant::Both,
            Variant::NoDatabase,
        ]
    } else {
        &[Variant::AsIs]
    };
    let mut runs: BTreeMap<String, (Vec<f64>, String, String)> = BTreeMap::new();
    let mut push = |subject: String, unit: &str, value: f64, note: String| {
        let e = runs
            .entry(subject)
            .or_insert_with(|| (Vec::new(), unit.to_string(), String::new()));
        e.0.push(value);
        e.2 = note;
    };
    let conns = match kind {
        Kind::Sqlite => 1,
        Kind::Postgres => c as u32,
    };
    for r in 0..o.repeats {
        eprintln!(
            "engine on {}: round {} of {}",
            kind.name(),
            r + 1,
            o.repeats
        );
        let db = BenchDb::new(kind, pg_base).await?;
        let run = raw::inserts(&db, c, o.raw_rows, conns).await?;
        db.drop_now().await?;
        push(
            format!("a raw single-row insert, {c} tasks, {conns} connection(s)"),
            "rows/s",
            run.rate(),
            format!("{} rows, one per transaction", run.rows),
        );
        for (hi, &h) in o.histories.iter().enumerate() {
            // The what-ifs at the shortest history only: the levers do not depend on it.
            let these = if hi == 0 { variants } else { &variants[..1] };
            for (vi, v) in these.iter().enumerate() {
                let size = RigSize {
                    senders: c,
                    leads_per_sender: o.leads_per_sender,
                    history: h,
                    filler: 0,
                };
                let run = engine_run(kind, pg_base, size, *v).await?;
                push_engine(
                    &mut push,
                    format!("b{hi}{vi} {}, {c} senders, history {h}", v.name()),
                    run,
                );
            }
        }
        if let (Some(&lo), Some(&hi)) = (o.histories.first(), o.histories.last()) {
            if hi > lo {
                let size = RigSize {
                    senders: c,
                    leads_per_sender: o.leads_per_sender,
                    history: lo,
                    filler: c * o.leads_per_sender * (hi - lo),
                };
                let run = engine_run(kind, pg_base, size, Variant::AsIs).await?;
                push_engine(
                    &mut push,
                    format!(
                        "c plera engine, {c} senders, history {lo}, log as long as history {hi}'s"
                    ),
                    run,
                );
            }
        }
    }
    let load = machine::load_1m();
    Ok(runs
        .into_iter()
        .map(|(subject, (values, unit, note))| {
            let subject = subject
                .split_once(' ')
                .map_or(subject.clone(), |(_, s)| s.to_string());
            Figure::from_runs("engine", kind.name(), subject, &unit, values, load).note(note)
        })
        .collect())
}
