//! `plera-bench-fold`: the rebuild's pure fold alone (every view into a complete in-memory
//! `Snapshot`, batches of 2,000), on a synthetic log kept in memory, no database. Two subjects,
//! interleaved: the batches decoded beforehand (so that a change to the folds or the stage shows
//! in the figure), and each batch decoded just before it is folded and dropped after, as the
//! rebuild does (so that what decoding on the way costs the fold shows too). The CPU time is
//! reported beside the wall time: on a shared machine it moves less with the load.
//!
//! ```sh
//! cargo run --release -p plera-benches --bin plera-bench-fold -- 100000 3
//! ```

use std::borrow::Cow;
use std::time::{Duration, Instant};

use plera_actors::store::{EventLog, MemoryEventLog};
use plera_adapters::views::envelope;
use plera_benches::machine;
use plera_benches::rig::start;
use plera_benches::synth::{append_log, LogShape};
use plera_projections::{all_views, decode_all, Decoded, Envelope, Snapshot};

#[global_allocator]
static ALLOCATOR: plera_adapters::Allocator = plera_adapters::Allocator;

const BATCH: usize = 2_000;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let repeats: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let log = MemoryEventLog::new();
    let shape = LogShape {
        events,
        senders: 200,
        campaigns: 20,
        seed: 1,
    };
    runtime.block_on(append_log(&log, shape, 5_000, start()))?;
    let stored = runtime
        .block_on(log.read_after(0, usize::MAX))
        .map_err(|e| e.to_string())?;
    let envelopes: Vec<Envelope> = stored.into_iter().map(envelope).collect();
    let batches: Vec<Vec<Decoded>> = envelopes
        .chunks(BATCH)
        .map(decode_all)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let n: usize = batches.iter().map(Vec::len).sum();
    println!(
        "{n} events, {} batches, load {:?}",
        batches.len(),
        machine::load_1m()
    );
    for _ in 0..repeats {
        let decoded = batches.iter().map(|b| Ok(Cow::Borrowed(b.as_slice())));
        measure("decoded beforehand", n, || fold(decoded))?;
        let fresh = envelopes
            .chunks(BATCH)
            .map(|chunk| decode_all(chunk).map(Cow::Owned).map_err(|e| e.to_string()));
        measure("decoded batch by batch", n, || fold(fresh))?;
    }
    Ok(())
}

/// Runs one fold of the whole log and prints its rates.
fn measure(
    subject: &str,
    n: usize,
    fold: impl FnOnce() -> Result<(usize, ViewTimes), String>,
) -> Result<(), String> {
    let cpu = machine::process_cpu();
    let began = Instant::now();
    let (rows, per_view) = fold()?;
    let wall = began.elapsed();
    let cpu = machine::process_cpu()
        .zip(cpu)
        .map(|(after, before)| after.saturating_sub(before));
    let per_s = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "fold, {subject}: {:.0} events/s wall, {} events/s CPU, {rows} rows, load {:?}",
        per_s(wall),
        cpu.map_or("?".into(), |c| format!("{:.0}", per_s(c))),
        machine::load_1m(),
    );
    for (view, time) in per_view {
        println!("  {view}: {:.0} events/s wall", per_s(time));
    }
    Ok(())
}

/// Each view's time: its folds and its snapshot's applies.
type ViewTimes = Vec<(&'static str, Duration)>;

/// Folds every batch into every view's complete snapshot; returns the rows they hold and each
/// view's time (decoding, where the batches are decoded on the way, is in neither).
fn fold<'a>(
    batches: impl Iterator<Item = Result<Cow<'a, [Decoded]>, String>>,
) -> Result<(usize, ViewTimes), String> {
    let views = all_views();
    let mut rows: Vec<Snapshot> = views.iter().map(|_| Snapshot::complete()).collect();
    let mut times: ViewTimes = views.iter().map(|v| (v.name(), Duration::ZERO)).collect();
    for batch in batches {
        let batch = batch?;
        for ((view, rows), time) in views.iter().zip(rows.iter_mut()).zip(times.iter_mut()) {
            let began = Instant::now();
            rows.fold(view.as_ref(), &batch)
                .map_err(|e| e.to_string())?;
            time.1 += began.elapsed();
        }
    }
    Ok((rows.iter().map(Snapshot::len).sum(), times))
}
