//! Benchmark 2, replay: events per second to rebuild every projection from position 0
//! (`Views::rebuild_all`), beside the raw read rate of the same rows and cqrs-es's `QueryReplay`
//! into a trivial query, on one synthetic log per store.

use async_trait::async_trait;
use cqrs_es::persist::{PersistedEventRepository, QueryReplay};
use cqrs_es::{Aggregate, EventEnvelope, Query};
use futures::future::BoxFuture;
use plera_actors::store::{EventLog, StoreError, StoredEvent};
use plera_actors::{Engine, SequentialIds, VirtualClock};
use plera_adapters::sandbox::SandboxWorld;
use plera_adapters::store::Store;
use plera_adapters::views::{envelope, Views, DEFAULT_BATCH};
use plera_domain::campaign::{Campaign, CampaignEvent};
use plera_domain::conversation::{Conversation, ConversationEvent};
use plera_domain::lead::{LeadSequence, LeadSequenceEvent};
use plera_domain::sender::{SenderAccount, SenderAccountEvent};
use plera_domain::workspace::{Workspace, WorkspaceEvent};
use plera_projections::envelope::{
    CAMPAIGN, CONVERSATION, LEAD_SEQUENCE, SENDER_ACCOUNT, WORKSPACE,
};
use plera_projections::{all_views, decode_all, Decoded, Envelope, MemoryTables, Snapshot};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::db::{BenchDb, Kind};
use crate::report::Figure;
use crate::rig::{open, quiet_world, start};
use crate::synth::{append_log, LogShape};
use crate::{machine, raw};

/// A query that counts what it is given: the least any replay target can do.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

#[async_trait]
impl<A: Aggregate> Query<A> for Counter {
    async fn dispatch(&self, _aggregate_id: &str, events: &[EventEnvelope<A>]) {
        self.0.fetch_add(events.len(), Ordering::Relaxed);
    }
}

/// Replays every aggregate type's events into a [`Counter`]; returns the count.
async fn query_replay_all<R, F>(repo: F) -> Result<usize, String>
where
    R: PersistedEventRepository,
    F: Fn() -> R,
{
    let counter = Counter::default();
    QueryReplay::<R, Counter, LeadSequence>::new(repo(), counter.clone())
        .replay_all()
        .await
        .map_err(|e| e.to_string())?;
    QueryReplay::<R, Counter, SenderAccount>::new(repo(), counter.clone())
        .replay_all()
        .await
        .map_err(|e| e.to_string())?;
    QueryReplay::<R, Counter, Campaign>::new(repo(), counter.clone())
        .replay_all()
        .await
        .map_err(|e| e.to_string())?;
    QueryReplay::<R, Counter, Workspace>::new(repo(), counter.clone())
        .replay_all()
        .await
        .map_err(|e| e.to_string())?;
    QueryReplay::<R, Counter, Conversation>::new(repo(), counter.clone())
        .replay_all()
        .await
        .map_err(|e| e.to_string())?;
    Ok(counter.0.load(Ordering::Relaxed))
}

/// Reads the whole log through the `EventLog` port in batches of `batch` (rows decoded, payloads
/// parsed as JSON) and hands each batch to `each`: returns the events read and the time.
async fn each_batch(
    log: &dyn EventLog,
    batch: usize,
    each: impl FnMut(Vec<StoredEvent>) -> Result<(), String>,
) -> Result<(usize, f64), String> {
    each_read(|after| log.read_after(after, batch), each).await
}

/// Reads the whole log with `read(after)`, a batch at a time, and hands each batch to `each`:
/// returns the events read and the time.
async fn each_read<'a, P>(
    read: impl Fn(u64) -> BoxFuture<'a, Result<Vec<StoredEvent<P>>, StoreError>>,
    mut each: impl FnMut(Vec<StoredEvent<P>>) -> Result<(), String>,
) -> Result<(usize, f64), String> {
    let t = Instant::now();
    let (mut after, mut n) = (0u64, 0usize);
    loop {
        let events = read(after).await.map_err(|e| e.to_string())?;
        let Some(last) = events.last() else { break };
        after = last.position;
        n += events.len();
        each(events)?;
    }
    Ok((n, t.elapsed().as_secs_f64()))
}

/// A batch decoded as the runner decodes it (payload `Value` to typed events).
fn decoded(events: Vec<StoredEvent>) -> Result<Vec<Decoded>, String> {
    let envelopes: Vec<Envelope> = events.into_iter().map(envelope).collect();
    decode_all(&envelopes).map_err(|e| e.to_string())
}

/// Builds an engine on the whole log, as a restart does (start-up reads every event once and
/// folds it into the aggregates the engine keeps), then shuts it down: returns the build's time.
async fn engine_start_up(store: &Store) -> Result<f64, String> {
    // A year after the log began: after its last event.
    let clock = Arc::new(VirtualClock::new(start() + chrono::Duration::days(365)));
    let world = SandboxWorld::new(quiet_world(1), clock.clone());
    let t = Instant::now();
    let engine = Engine::builder()
        .event_log(store.event_log())
        .lead_directory(store.lead_directory())
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world))
        .clock(clock)
        .ids(Arc::new(SequentialIds::default()))
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    engine.shutdown().await;
    Ok(secs)
}

/// The read alone.
async fn read_through_port(log: &dyn EventLog, batch: usize) -> Result<(usize, f64), String> {
    each_batch(log, batch, |events| {
        black_box(events);
        Ok(())
    })
    .await
}

/// The rebuild's own read alone: `read_text_after` in batches of `batch`, payloads left as text
/// (on SQLite stepped through its C API): the read rate of the same rows the rebuild reaches.
async fn read_text_through_port(log: &dyn EventLog, batch: usize) -> Result<(usize, f64), String> {
    each_read(
        |after| log.read_text_after(after, batch),
        |events| {
            black_box(events);
            Ok(())
        },
    )
    .await
}

/// The same read, then `decode_all` of every batch, no fold: the cost of decoding through the
/// parsed `Value`.
async fn decode_through_port(log: &dyn EventLog, batch: usize) -> Result<(usize, f64), String> {
    each_batch(log, batch, |events| {
        black_box(decoded(events)?);
        Ok(())
    })
    .await
}

/// One stored row decoded straight from its text into its aggregate's typed event enum (the
/// mapping of `Envelope::decode`, without the `serde_json::Value` in between): 1 event, or 0 for
/// an aggregate type no view knows.
fn decode_text(aggregate_type: &str, aggregate_id: &str, payload: &str) -> Result<usize, String> {
    macro_rules! typed {
        ($event:ty) => {{
            let event: $event =
                serde_json::from_str(payload).map_err(|e| format!("{aggregate_id}: {e}"))?;
            // Kept with an owned id, as `Decoded` does, and not optimized away.
            black_box((aggregate_id.to_owned(), event));
            Ok(1)
        }};
    }
    match aggregate_type {
        SENDER_ACCOUNT => typed!(SenderAccountEvent),
        LEAD_SEQUENCE => typed!(LeadSequenceEvent),
        CAMPAIGN => typed!(CampaignEvent),
        WORKSPACE => typed!(WorkspaceEvent),
        CONVERSATION => typed!(ConversationEvent),
        _ => Ok(0),
    }
}

/// The same read, then every view's pure fold into in-memory tables (no SQL for the views): what
/// the rebuild costs before the view tables are read and written.
async fn fold_in_memory(log: &dyn EventLog, batch: usize) -> Result<(usize, f64), String> {
    let views = all_views();
    let mut tables = MemoryTables::new();
    each_batch(log, batch, |events| {
        let decoded = decoded(events)?;
        for view in &views {
            tables
                .apply(view.as_ref(), &decoded)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
    .await
}

/// The same read, then one fold per batch and view into a complete in-memory [`Snapshot`] (every
/// read answered, nothing loaded): the rebuild's own fold, before its writes.
async fn fold_complete(log: &dyn EventLog, batch: usize) -> Result<(usize, f64), String> {
    let views = all_views();
    let mut rows: Vec<Snapshot> = views.iter().map(|_| Snapshot::complete()).collect();
    each_batch(log, batch, |events| {
        let decoded = decoded(events)?;
        for (view, rows) in views.iter().zip(rows.iter_mut()) {
            rows.fold(view.as_ref(), &decoded)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
    .await
}

/// Empties the view tables and sets every checkpoint to 0 behind the runner's back, so that the
/// next `catch_up_all` replays the log through the incremental runner (load rounds and all).
async fn reset_views(db: &BenchDb, tables: &[&str]) -> Result<(), String> {
    let mut statements: Vec<String> = tables.iter().map(|t| format!("DELETE FROM {t}")).collect();
    statements.push("UPDATE projection_checkpoints SET position = 0".into());
    match db.kind() {
        Kind::Sqlite => {
            let pool = db.sqlite_pool(1).await?;
            for sql in &statements {
                sqlx::query(sql)
                    .execute(&pool)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            pool.close().await;
        }
        Kind::Postgres => {
            let pool = db.pg_pool(1).await?;
            for sql in &statements {
                sqlx::query(sql)
                    .execute(&pool)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            pool.close().await;
        }
    }
    Ok(())
}

/// Generates `events` events on `kind` and measures every reader over them, `repeats` times.
pub async fn bench(
    kind: Kind,
    pg_base: &str,
    events: usize,
    repeats: usize,
) -> Result<Vec<Figure>, String> {
    let db = BenchDb::new(kind, pg_base).await?;
    let store = open(db.url()).await?;
    let log = store.event_log();
    let shape = LogShape {
        events,
        senders: 200,
        campaigns: 20,
        seed: 1,
    };
    eprintln!("replay on {}: generating {events} events", kind.name());
    let began = Instant::now();
    let n = append_log(log.as_ref(), shape, 5_000, start()).await?;
    let generated = began.elapsed();
    let mut figures = vec![Figure::from_runs(
        "replay",
        kind.name(),
        format!("generate {n} synthetic events (appends of 5,000)"),
        "events/s",
        vec![n as f64 / generated.as_secs_f64()],
        machine::load_1m(),
    )
    .note(format!("{:.1} s", generated.as_secs_f64()))];

    let views = Views::new(&store);
    let (mut rebuild, mut select, mut copy, mut replay) = (vec![], vec![], vec![], vec![]);
    let (mut port, mut folded, mut complete, mut incremental) = (vec![], vec![], vec![], vec![]);
    let (mut typed, mut port_decoded, mut port_text) = (vec![], vec![], vec![]);
    let mut start_up = vec![];
    let mut rows_note = String::new();
    // The process's CPU time over the wall time of each rebuild: above 1 when its folds and
    // reads overlap on several cores, at most 1 when the machine leaves it one.
    let mut cpu_per_wall = Vec::new();
    for r in 0..repeats {
        eprintln!("replay on {}: round {} of {repeats}", kind.name(), r + 1);
        let (t, cpu) = (Instant::now(), machine::process_cpu());
        let counts = views
            .rebuild_all(|_, _| {})
            .await
            .map_err(|e| e.to_string())?;
        let wall = t.elapsed().as_secs_f64();
        rebuild.push(n as f64 / wall);
        if let (Some(before), Some(after)) = (cpu, machine::process_cpu()) {
            cpu_per_wall.push(format!(
                "{:.2}",
                after.saturating_sub(before).as_secs_f64() / wall
            ));
        }
        rows_note = counts
            .iter()
            .map(|c| format!("{} {} rows", c.view, c.rows.values().sum::<u64>()))
            .collect::<Vec<_>>()
            .join(", ");
        if counts.iter().any(|c| c.position != n as u64) {
            return Err(format!("a view did not reach position {n}: {counts:?}"));
        }

        let tables: Vec<&str> = views.tables().iter().map(|t| t.name).collect();
        reset_views(&db, &tables).await?;
        let t = Instant::now();
        views.catch_up_all().await.map_err(|e| e.to_string())?;
        incremental.push(n as f64 / t.elapsed().as_secs_f64());
        let again = views.counts().await.map_err(|e| e.to_string())?;
        if again != counts {
            return Err(format!(
                "the incremental runner's rows differ from the rebuild's: {again:?} vs {counts:?}"
            ));
        }

        let read = raw::select_all(&db).await?;
        if read.rows != n {
            return Err(format!("SELECT read {} rows of {n}", read.rows));
        }
        select.push(read.rate());
        let read = raw::select_each(&db, decode_text).await?;
        if read.rows != n || read.bytes != n {
            return Err(format!(
                "SELECT + decode made {} events of {} rows, {n} expected",
                read.bytes, read.rows
            ));
        }
        typed.push(read.rate());
        if kind == Kind::Postgres {
            let c = raw::copy_out(&db).await?;
            if c.rows != n {
                return Err(format!("COPY wrote {} rows of {n}", c.rows));
            }
            copy.push(c.rate());
        }

        start_up.push(n as f64 / engine_start_up(&store).await?);
        let (m, secs) = read_text_through_port(log.as_ref(), DEFAULT_BATCH).await?;
        if m != n {
            return Err(format!("read_text_after read {m} events of {n}"));
        }
        port_text.push(n as f64 / secs);
        let (m, secs) = read_through_port(log.as_ref(), DEFAULT_BATCH).await?;
        if m != n {
            return Err(format!("read_after read {m} events of {n}"));
        }
        port.push(n as f64 / secs);
        let (m, secs) = decode_through_port(log.as_ref(), DEFAULT_BATCH).await?;
        if m != n {
            return Err(format!("read_after + decode_all made {m} events of {n}"));
        }
        port_decoded.push(n as f64 / secs);
        let (m, secs) = fold_in_memory(log.as_ref(), DEFAULT_BATCH).await?;
        if m != n {
            return Err(format!("the in-memory fold saw {m} events of {n}"));
        }
        folded.push(n as f64 / secs);
        let (m, secs) = fold_complete(log.as_ref(), DEFAULT_BATCH).await?;
        if m != n {
            return Err(format!("the complete-snapshot fold saw {m} events of {n}"));
        }
        complete.push(n as f64 / secs);

        let t = Instant::now();
        let replayed = match kind {
            Kind::Sqlite => {
                let pool = db.sqlite_pool(1).await?;
                let out =
                    query_replay_all(|| sqlite_es::SqliteEventRepository::new(pool.clone())).await;
                pool.close().await;
                out?
            }
            Kind::Postgres => {
                let pool = db.pg_pool(1).await?;
                let out =
                    query_replay_all(|| postgres_es::PostgresEventRepository::new(pool.clone()))
                        .await;
                pool.close().await;
                out?
            }
        };
        if replayed != n {
            return Err(format!("QueryReplay saw {replayed} events of {n}"));
        }
        replay.push(n as f64 / t.elapsed().as_secs_f64());
    }
    let load = machine::load_1m();
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            format!("plera rebuild_all, {n} events"),
            "events/s",
            rebuild,
            load,
        )
        .note(format!(
            "{rows_note}; process CPU / wall per run: {}",
            cpu_per_wall.join(" / ")
        )),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            format!("incremental runner from position 0 (catch_up_all), {n} events"),
            "events/s",
            incremental,
            load,
        )
        .note("load rounds, a fold per round, a transaction per batch: the rebuild before it kept its rows in memory; same row counts checked"),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            format!("engine start-up over the whole log (Engine::build), {n} events"),
            "events/s",
            start_up,
            load,
        )
        .note("every event read once and folded into the aggregates the engine keeps, as a restart does"),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            "EventLog::read_text_after in batches of 2,000 (payloads as text)",
            "events/s",
            port_text,
            load,
        )
        .note("the rebuild's own read, nothing else (SQLite: stepped through its C API)"),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            "EventLog::read_after in batches of 2,000 (JSON parsed)",
            "events/s",
            port,
            load,
        )
        .note("the engine's read: the same rows, each payload parsed into a JSON value"),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            "read_after + decode_all (no fold)",
            "events/s",
            port_decoded,
            load,
        )
        .note("the rebuild's read and decode through the parsed Value, sequential, nothing else"),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            "read_after + decode + every view's pure fold into MemoryTables",
            "events/s",
            folded,
            load,
        )
        .note("the incremental runner without reading or writing view tables"),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            "read_after + decode + one fold per view into a complete in-memory Snapshot",
            "events/s",
            complete,
            load,
        )
        .note("the rebuild's fold, without writing view tables"),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            "raw SELECT of every row, position order (sqlx stream)",
            "rows/s",
            select,
            load,
        )
        .note("decoded to Rust strings and integers, payload as text"),
    );
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            "raw SELECT + decode of every payload into the typed domain events (no fold)",
            "events/s",
            typed,
            load,
        )
        .note("serde_json::from_str of the text straight into the aggregate's event enum, id owned: the ceiling of any reader that decodes events"),
    );
    if kind == Kind::Postgres {
        figures.push(
            Figure::from_runs(
                "replay",
                kind.name(),
                "raw COPY (SELECT ... ORDER BY position) TO STDOUT",
                "rows/s",
                copy,
                load,
            )
            .note("bytes counted, nothing decoded"),
        );
    }
    figures.push(
        Figure::from_runs(
            "replay",
            kind.name(),
            "cqrs-es QueryReplay::replay_all, counting query, every aggregate type",
            "events/s",
            replay,
            load,
        )
        .note(format!(
            "{}-es 0.5.0 repository on the same events table",
            kind.name()
        )),
    );
    store.close().await;
    db.drop_now().await?;
    Ok(figures)
}
