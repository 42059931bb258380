//! `plera-bench`: runs issue 8's benchmarks and prints one Markdown table (stdout) with the
//! targets checked below it. Progress goes to stderr.
//!
//! ```sh
//! cargo run --release -p plera-benches --bin plera-bench -- all
//! cargo run --release -p plera-benches --bin plera-bench -- command --stores sqlite
//! cargo run --release -p plera-benches --bin plera-bench -- nodes --nodes 1,2,4 --repeats 3
//! ```

use clap::{Parser, ValueEnum};
use plera_benches::command::{self, CommandOptions};
use plera_benches::db::Kind;
use plera_benches::nodes::{self, NodesOptions};
use plera_benches::report::{median, paired_ratios, Figure, Sink, HEADER};
use plera_benches::{ingest, machine, replay, simulate};
use std::path::PathBuf;

#[global_allocator]
static ALLOCATOR: plera_adapters::Allocator = plera_adapters::Allocator;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Bench {
    /// The command path, beside cqrs-es and raw inserts, over history lengths.
    Command,
    /// Rebuilding every projection, beside raw reads and QueryReplay.
    Replay,
    /// The 30-day simulation (the release `plera` binary).
    Simulate,
    /// Inbound replies through Engine::ingest, then the inbox catch-up.
    Ingest,
    /// The engine's command path alone (for profiling: `perf record` around it).
    Engine,
    /// Scale-out: 1, 2, 4 clustered engine nodes on one PostgreSQL schema, and the plain engine.
    Nodes,
    /// All of the above but `engine` and `nodes`.
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Store {
    Sqlite,
    Postgres,
}

#[derive(Parser, Debug)]
#[command(about = "plera's benchmarks (issue 8)")]
struct Args {
    /// What to run.
    #[arg(value_enum, num_args = 1.., required = true)]
    benches: Vec<Bench>,
    /// Stores to run on.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Store::Sqlite, Store::Postgres])]
    stores: Vec<Store>,
    /// The PostgreSQL database the benches create their schemas in (created if missing).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/plera_bench")]
    pg: String,
    /// Runs of each measurement.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Senders in the engine, concurrent tasks in the baselines.
    #[arg(long, default_value_t = 20)]
    concurrency: usize,
    /// Leads per sender in the engine's command-path run (20 steps each).
    #[arg(long, default_value_t = 5)]
    leads_per_sender: usize,
    /// Steps per task in the cqrs-es run.
    #[arg(long, default_value_t = 25)]
    cqrs_steps: usize,
    /// Rows per task in the raw insert run.
    #[arg(long, default_value_t = 250)]
    raw_rows: usize,
    /// Lead history lengths.
    #[arg(long, value_delimiter = ',', default_values_t = [10, 100, 1000])]
    histories: Vec<usize>,
    /// Events in the replay log.
    #[arg(long, default_value_t = 1_000_000)]
    replay_events: usize,
    /// Unique replies in the ingest run.
    #[arg(long, default_value_t = 2_000)]
    replies: usize,
    /// With `ingest`: each caller delivers its share in pages of this many events through
    /// `Engine::ingest_all` (a poller's listing); 0: one `Engine::ingest` call per event.
    #[arg(long, default_value_t = 0)]
    page: usize,
    /// With `ingest`: deliver to this many clustered engines on one schema (PostgreSQL only),
    /// caller `c` to node `c % N`; 0: the plain engine.
    #[arg(long, default_value_t = 0)]
    ingest_nodes: usize,
    /// The `plera` binary the simulation runs (default: this workspace's release build).
    #[arg(long)]
    plera: Option<PathBuf>,
    /// Simulation size: days, leads, accounts.
    #[arg(long, value_delimiter = ',', default_values_t = [30, 10_000, 20])]
    sim: Vec<u32>,
    /// With `engine`: also measure the what-if variants (proposed runtime changes, modelled).
    #[arg(long)]
    what_if: bool,
    /// With `nodes`: the node counts to measure (PostgreSQL only).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4])]
    nodes: Vec<usize>,
    /// With `nodes`: leads per sender (20 steps each; at most 25, a sender's daily messages).
    #[arg(long, default_value_t = 20)]
    node_leads: usize,
    /// With `nodes`: also sample PostgreSQL's locks and WAL waits every 10 ms while measuring.
    #[arg(long)]
    sample_locks: bool,
    /// Also append every figure as a JSON line to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn kinds(stores: &[Store]) -> Vec<Kind> {
    stores
        .iter()
        .map(|s| match s {
            Store::Sqlite => Kind::Sqlite,
            Store::Postgres => Kind::Postgres,
        })
        .collect()
}

fn wants(args: &Args, b: Bench) -> bool {
    args.benches.contains(&b) || args.benches.contains(&Bench::All)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args).await {
        eprintln!("plera-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let mut sink = Sink::with_json(args.json.as_deref()).map_err(|e| e.to_string())?;
    let began = std::time::Instant::now();
    eprintln!(
        "machine: {}; load {:?}",
        machine::describe(),
        machine::load_1m()
    );
    let stores = kinds(&args.stores);
    if wants(args, Bench::Command) {
        let o = CommandOptions {
            concurrency: args.concurrency,
            leads_per_sender: args.leads_per_sender,
            cqrs_steps: args.cqrs_steps,
            raw_rows: args.raw_rows,
            histories: args.histories.clone(),
            repeats: args.repeats,
        };
        for &k in &stores {
            sink.add(command::bench(k, &args.pg, &o).await?);
        }
    }
    if args.benches.contains(&Bench::Engine) {
        let o = CommandOptions {
            concurrency: args.concurrency,
            leads_per_sender: args.leads_per_sender,
            cqrs_steps: args.cqrs_steps,
            raw_rows: args.raw_rows,
            histories: args.histories.clone(),
            repeats: args.repeats,
        };
        for &k in &stores {
            sink.add(command::engine_bench(k, &args.pg, &o, args.what_if).await?);
        }
    }
    if args.benches.contains(&Bench::Nodes) {
        let o = NodesOptions {
            nodes: args.nodes.clone(),
            senders: args.concurrency,
            leads_per_sender: args.node_leads,
            repeats: args.repeats,
            sample_locks: args.sample_locks,
        };
        sink.add(nodes::bench(&args.pg, &o).await?);
    }
    if wants(args, Bench::Replay) {
        for &k in &stores {
            sink.add(replay::bench(k, &args.pg, args.replay_events, args.repeats).await?);
        }
    }
    if wants(args, Bench::Ingest) {
        for &k in &stores {
            sink.add(
                ingest::bench(
                    k,
                    &args.pg,
                    args.concurrency,
                    args.page,
                    args.ingest_nodes,
                    args.replies,
                    args.repeats,
                )
                .await?,
            );
        }
    }
    if wants(args, Bench::Simulate) {
        let plera = args.plera.clone().unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
                || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
                PathBuf::from,
            );
            target.join("release/plera")
        });
        let size = match args.sim.as_slice() {
            [d, l, a] => (*d, *l, *a),
            _ => return Err("--sim takes days,leads,accounts".into()),
        };
        for &k in &stores {
            sink.add(simulate::bench(&plera, k, &args.pg, size, args.repeats).await?);
        }
    }
    println!("machine: {}", machine::describe());
    println!(
        "finished {:.0} s after start, load {}",
        began.elapsed().as_secs_f64(),
        machine::load_1m().map_or("?".into(), |l| format!("{l:.2}"))
    );
    println!();
    println!("{HEADER}");
    for f in sink.figures() {
        println!("{}", f.row());
    }
    println!();
    for line in verdicts(&sink, args) {
        println!("{line}");
    }
    Ok(())
}

/// The flatness ratio round by round, for the verdict: " (paired by round: median M %, runs
/// LO-HI %, N rounds)", or `None` without runs of both histories.
fn paired(short: &Figure, long: &Figure) -> Option<String> {
    let ratios = paired_ratios(&short.runs, &long.runs);
    let (first, last) = (ratios.first()?, ratios.last()?);
    Some(format!(
        " (paired by round: median {:.0} %, runs {:.0}-{:.0} %, {} rounds)",
        100.0 * median(&ratios),
        100.0 * first,
        100.0 * last,
        ratios.len()
    ))
}

/// The targets of issue 8, checked on what was measured.
fn verdicts(sink: &Sink, args: &Args) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: String, ok: bool| {
        out.push(format!("- [{}] {what}", if ok { "x" } else { " " }));
    };
    let c = args.concurrency;
    for k in kinds(&args.stores) {
        let s = k.name();
        // The engine's figure at history `h`, from the `command` run or the `engine` one.
        let engine = |h: usize| {
            let subject = format!("plera engine, {c} senders, history {h}");
            sink.figure("command", s, &subject)
                .or_else(|| sink.figure("engine", s, &subject))
        };
        let ours = |h: usize| engine(h).map(|f| f.value);
        let cqrs = |h: usize| {
            sink.value(
                "command",
                s,
                &format!("cqrs-es execute x2, {c} tasks, history {h}"),
            )
        };
        let raw = sink
            .figures()
            .iter()
            .filter(|f| {
                (f.bench == "command" || f.bench == "engine")
                    && f.store == s
                    && f.subject.starts_with("raw")
            })
            .map(|f| f.value)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        if let (Some(first), Some(raw)) = (args.histories.first().and_then(|h| ours(*h)), raw) {
            check(
                format!("{s}: command path {first:.0} steps/s >= raw single-row inserts {raw:.0} rows/s ({:.2}x)", first / raw),
                first >= raw,
            );
        }
        for &h in &args.histories {
            if let (Some(o), Some(q)) = (ours(h), cqrs(h)) {
                check(
                    format!(
                        "{s}: history {h}: engine {o:.0} steps/s >= 3x cqrs-es {q:.0} ({:.1}x)",
                        o / q
                    ),
                    o >= 3.0 * q,
                );
            }
        }
        if let (Some(short), Some(long)) = (
            args.histories.first().and_then(|h| engine(*h)),
            args.histories.last().and_then(|h| engine(*h)),
        ) {
            let (lo, hi) = (short.value, long.value);
            let paired = paired(short, long).unwrap_or_default();
            check(
                format!("{s}: engine at the longest history runs at {:.0} % of the shortest's rate (>= 90 %){paired}", 100.0 * hi / lo),
                hi >= 0.9 * lo,
            );
        }
        let rebuild = sink.value("replay", s, "plera rebuild_all");
        let select = sink.value("replay", s, "raw SELECT");
        let copy = sink.value("replay", s, "raw COPY");
        let qr = sink.value("replay", s, "cqrs-es QueryReplay");
        if let (Some(r), Some(sel)) = (rebuild, select) {
            check(
                format!(
                    "{s}: rebuild {r:.0} events/s >= 50 % of raw SELECT {sel:.0} ({:.0} %)",
                    100.0 * r / sel
                ),
                r >= 0.5 * sel,
            );
        }
        // SQLite has no COPY: its fastest raw read is the store's own, stepped through the C
        // API (`read_text_after`), the analogue of PostgreSQL's COPY against its SELECT.
        let c_api = sink.value("replay", s, "EventLog::read_text_after");
        if let (Some(r), Some(c), "sqlite") = (rebuild, c_api, s) {
            check(
                format!(
                    "{s}: rebuild {r:.0} events/s >= 50 % of the C API read {c:.0} ({:.0} %)",
                    100.0 * r / c
                ),
                r >= 0.5 * c,
            );
        }
        if let (Some(r), Some(cp)) = (rebuild, copy) {
            check(
                format!(
                    "{s}: rebuild {r:.0} events/s >= 50 % of COPY {cp:.0} ({:.0} %)",
                    100.0 * r / cp
                ),
                r >= 0.5 * cp,
            );
        }
        if let (Some(r), Some(q)) = (rebuild, qr) {
            check(
                format!(
                    "{s}: rebuild {r:.0} events/s >= 3x QueryReplay {q:.0} ({:.1}x)",
                    r / q
                ),
                r >= 3.0 * q,
            );
        }
        if let Some(w) = sink.value("simulate", s, "wall time") {
            check(
                format!("{s}: simulation wall time {w:.1} s < 30 s"),
                w < 30.0,
            );
        }
    }
    out
}
