//! `plera simulate`: refuse a database with events (unless `--reset`), run the simulation into it
//! (the views kept current day by day), write the ledger, rebuild the views from position 0 and
//! compare them with the live ones, audit the log against the invariants and the ledger, print
//! the summary.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::args::SimulateArgs;
use super::db;
use super::error::CliError;
use super::output::{table, Output};
use super::Finished;
use crate::audit::{compare, scan, AuditReport, Auditor, LiveViews, Violation};
use crate::sandbox::SandboxWorld;
use crate::simulation::edges::{Edges, InProcess};
use crate::simulation::via_http::OverHttp;
use crate::simulation::{
    default_start, simulate_with, LogCounts, ScenarioSize, SimulationOptions, SimulationOutcome,
};
use crate::store::Store;
use crate::views::Views;

/// What `--json` prints: exactly these keys, counts taken from the log.
#[derive(Debug, Serialize)]
struct Summary {
    seed: u64,
    days: u32,
    leads: u32,
    accounts: u32,
    events: u64,
    invites_sent: u64,
    invites_accepted: u64,
    messages_sent: u64,
    emails_sent: u64,
    replies: u64,
    sequences_stopped: u64,
    wall_ms: u64,
}

/// Runs `plera simulate`.
pub async fn run(url: &str, args: &SimulateArgs, out: Output) -> Result<Finished, CliError> {
    let started = Instant::now();
    let mut store = db::open(url).await?;
    if db::has_events(&store).await? {
        if !args.reset {
            store.close().await;
            return Err(CliError::NotEmpty {
                url: crate::store::shown_url(url),
            });
        }
        store = db::reset(url, store).await?;
    }
    let options = SimulationOptions {
        size: ScenarioSize {
            seed: args.seed,
            days: args.days,
            leads: args.leads,
            accounts: args.accounts,
        },
        faults: args.faults,
        crashes: args.crashes,
        nodes: args.nodes,
        start: default_start(),
    };
    let start = options.start;
    let minutes = u64::from(args.days) * 24 * 60;
    let bar = out.progress(
        minutes,
        "{spinner} simulating {msg} [{bar:40}] {percent:>3}% {elapsed}",
    );
    let mut progress = |now: DateTime<Utc>| {
        let done = (now - start).num_minutes().max(0) as u64;
        if done > bar.position() {
            bar.set_position(done.min(minutes));
            bar.set_message(format!("day {:>3}/{}", done / (24 * 60) + 1, args.days));
        }
    };
    tracing::info!(
        seed = args.seed,
        days = args.days,
        leads = args.leads,
        accounts = args.accounts,
        "simulation starts"
    );
    let edges: Box<dyn Edges> = if args.via_http {
        Box::new(OverHttp::new(args.seed))
    } else {
        Box::<InProcess>::default()
    };
    let outcome = match simulate_with(options, url, store.clone(), &mut progress, edges).await {
        Ok(outcome) => outcome,
        Err(e) => {
            bar.abandon();
            // The database was empty when the run began: leave it so rather than half-written.
            if let Err(cleanup) = db::discard(url, store).await {
                tracing::warn!(%cleanup, "the partial simulation could not be removed");
            }
            return Err(e.into());
        }
    };
    bar.finish_and_clear();
    let ran = started.elapsed();
    tracing::info!(ms = ran.as_millis() as u64, "simulation ran");
    if let Some(path) = &args.ledger {
        write_ledger(&outcome.world, path)?;
    }
    let ledger = outcome.world.ledger();
    let (live, rebuild) = match rebuild_views(&outcome.store, out).await {
        Ok(checked) => checked,
        Err(e) => {
            outcome.store.close().await;
            return Err(e);
        }
    };
    let rebuilt_at = started.elapsed();
    tracing::info!(
        ms = (rebuilt_at - ran).as_millis() as u64,
        "views caught up, rebuilt from position 0 and compared"
    );
    let views_line = rebuild.describe(&live);
    let mut auditor = Auditor::new().with_views(live);
    let mut counts = LogCounts::default();
    let mut senders = SenderTally::default();
    scan(outcome.store.event_log().as_ref(), |e| {
        auditor.observe(e);
        counts.observe(e);
        senders.observe(e);
        Ok::<(), CliError>(())
    })
    .await?;
    let mut report = auditor.finish(Some(&ledger));
    report.violations.extend(rebuild.violations);
    outcome.store.close().await;
    let wall_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        ms = wall_ms.saturating_sub(rebuilt_at.as_millis() as u64),
        "log audited"
    );
    if out.json {
        out.json(&Summary {
            seed: args.seed,
            days: args.days,
            leads: args.leads,
            accounts: args.accounts,
            events: counts.events,
            invites_sent: counts.invites_sent,
            invites_accepted: counts.invites_accepted,
            messages_sent: counts.messages_sent,
            emails_sent: counts.emails_sent,
            replies: counts.replies,
            sequences_stopped: counts.sequences_stopped,
            wall_ms,
        })?;
    } else {
        print_summary(
            url,
            args,
            &outcome,
            &counts,
            &senders,
            ledger.len(),
            wall_ms,
        );
    }
    super::audit::print_violations(&report, out);
    if !out.json {
        eprintln!("{views_line}");
        eprintln!("{}", verdict(&report));
    }
    Ok(if report.passed() {
        Finished::Ok
    } else {
        Finished::InvariantBroken
    })
}

fn verdict(report: &AuditReport) -> String {
    if report.passed() {
        format!(
            "audit: invariants 1-8 hold over {} events and {} provider actions",
            report.events,
            report.ledger_entries.unwrap_or(0)
        )
    } else {
        format!("audit: {} violations", report.violations.len())
    }
}

/// The views' rebuild at the end of a run.
struct Rebuild {
    /// Where the live rows differ from the rebuilt ones (invariant 8).
    violations: Vec<Violation>,
    /// How long the rebuild took.
    took: Duration,
}

impl Rebuild {
    /// One line for people about the views and their rebuild (`rebuilt` are its rows).
    fn describe(&self, rebuilt: &LiveViews) -> String {
        let rows = |t: &str| rebuilt.tables.get(t).map_or(0, |r| r.len());
        format!(
            "views (kept current day by day): {} inbox threads with {} messages, {} senders, {} \
             campaign funnels; rebuilt from position 0 ({} events) in {:.1} s: {}",
            rows("inbox_threads"),
            rows("inbox_messages"),
            rows("sender_health"),
            rows("funnel_campaigns"),
            rebuilt.lowest_position(),
            self.took.as_secs_f64(),
            if self.violations.is_empty() {
                "identical to the live rows"
            } else {
                "DIFFERENT from the live rows"
            }
        )
    }
}

/// Brings the views to the log's end, keeps their rows, rebuilds them from position 0 (a
/// progress bar on stderr) and compares: the SQL runner's own proof of invariant 8. Returns the
/// rebuilt rows, which the audit then checks against the log.
async fn rebuild_views(store: &Store, out: Output) -> Result<(LiveViews, Rebuild), CliError> {
    let views = Views::new(store);
    views.catch_up_all().await?;
    let live = LiveViews::load(&views).await?;
    let bar = out.progress(
        0,
        "{spinner} rebuilding the views [{bar:40}] {pos}/{len} events {elapsed}",
    );
    let progress = bar.clone();
    let started = Instant::now();
    let rebuilt = views
        .rebuild_all(move |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        })
        .await;
    bar.finish_and_clear();
    rebuilt?;
    let took = started.elapsed();
    let rebuilt = LiveViews::load(&views).await?;
    let violations = compare(&live, &rebuilt, &views, "the views rebuilt from position 0");
    Ok((rebuilt, Rebuild { violations, took }))
}

/// Writes the ledger next to its final name and renames it: never a half-written file.
fn write_ledger(world: &SandboxWorld, path: &Path) -> Result<(), CliError> {
    let file_error = |e: std::io::Error| CliError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let write = || -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&partial)?);
        world.write_ledger_jsonl(&mut file)?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&partial);
        return Err(file_error(e));
    }
    std::fs::rename(&partial, path).map_err(file_error)
}

/// Per sender: actions started, warnings, pauses and the status at the end, from the log.
#[derive(Default)]
struct SenderTally {
    senders: BTreeMap<String, SenderLine>,
}

#[derive(Default)]
struct SenderLine {
    invites: u64,
    messages: u64,
    warnings: u64,
    pauses: u64,
    status: String,
}

impl SenderTally {
    fn observe(&mut self, e: &plera_actors::store::StoredEvent) {
        let field = |name: &str| {
            e.payload
                .get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        match (e.aggregate_type.as_str(), e.event_type.as_str()) {
            ("lead_sequence", "StepStarted") => {
                let line = self.senders.entry(field("account_id")).or_default();
                match field("action").as_str() {
                    "invite" => line.invites += 1,
                    "message" => line.messages += 1,
                    _ => {}
                }
            }
            ("sender_account", kind) => {
                let line = self.senders.entry(e.aggregate_id.clone()).or_default();
                match kind {
                    "AccountConnected" | "SendingResumed" => line.status = "active".into(),
                    "WarningReceived" => line.warnings += 1,
                    "SendingPaused" => {
                        line.pauses += 1;
                        let until = field("until");
                        line.status = if until.is_empty() {
                            format!("paused: {}", field("reason"))
                        } else {
                            format!(
                                "paused: {} until {}",
                                field("reason"),
                                &until[..16.min(until.len())]
                            )
                        };
                    }
                    "AccountDisconnected" => line.status = "disconnected".into(),
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

fn print_summary(
    url: &str,
    args: &SimulateArgs,
    outcome: &SimulationOutcome,
    counts: &LogCounts,
    senders: &SenderTally,
    ledger: usize,
    wall_ms: u64,
) {
    eprintln!(
        "simulated {} days: seed {}, {} leads, {} senders, faults {}, crashes {} -> {url} in {:.1} s",
        args.days,
        args.seed,
        args.leads,
        args.accounts,
        args.faults,
        outcome.restarts,
        wall_ms as f64 / 1000.0
    );
    let refused: u32 = outcome.refused_enrollments.values().sum();
    let by_channel = |c: &str| counts.replies_by_channel.get(c).copied().unwrap_or(0);
    let rows = vec![
        ("events in the log", counts.events.to_string()),
        ("leads enrolled", counts.of("SequenceStarted").to_string()),
        (
            "enrollments refused (already in a sequence)",
            refused.to_string(),
        ),
        ("invites sent", counts.invites_sent.to_string()),
        ("invites accepted", counts.invites_accepted.to_string()),
        ("messages sent", counts.messages_sent.to_string()),
        ("emails sent", counts.emails_sent.to_string()),
        (
            "replies (linkedin / email)",
            format!("{} / {}", by_channel("linkedin"), by_channel("email")),
        ),
        (
            "out-of-office answers",
            counts.of("OutOfOfficeReceived").to_string(),
        ),
        ("sequences stopped", counts.sequences_stopped.to_string()),
        (
            "sequences completed",
            counts.of("SequenceCompleted").to_string(),
        ),
        ("steps skipped", counts.of("StepSkipped").to_string()),
        ("step failures", counts.of("StepFailed").to_string()),
        (
            "outcomes unknown, reconciled",
            counts.of("StepOutcomeUnknown").to_string(),
        ),
        ("sender warnings", counts.of("WarningReceived").to_string()),
        ("sender pauses", counts.of("SendingPaused").to_string()),
        (
            "sessions reconnected / restrictions lifted",
            format!("{} / {}", outcome.reconnects, outcome.resumed),
        ),
        (
            "engine crashes, rebuilt from the log",
            outcome.restarts.to_string(),
        ),
        ("actions the provider performed", ledger.to_string()),
    ];
    eprintln!(
        "{}",
        table(
            &["what", "count"],
            rows.into_iter()
                .map(|(k, v)| vec![k.to_string(), v])
                .collect()
        )
    );
    let rows = outcome
        .accounts
        .iter()
        .zip(&outcome.scenario.senders)
        .map(|(account, plan)| {
            let line = senders.senders.get(account.as_str());
            let n = |f: fn(&SenderLine) -> u64| line.map_or(0, f).to_string();
            vec![
                account.to_string(),
                format!(
                    "{:?}{}",
                    plan.tier,
                    if plan.warm_up { ", warm-up" } else { "" }
                ),
                format!(
                    "{} {}-{}",
                    plan.timezone,
                    plan.working_hours.start().format("%H:%M"),
                    plan.working_hours.end().format("%H:%M")
                ),
                format!(
                    "{}/{}/{}",
                    plan.limits.daily_invites,
                    plan.limits.weekly_invites,
                    plan.limits.daily_messages
                ),
                n(|l| l.invites),
                n(|l| l.messages),
                n(|l| l.warnings),
                n(|l| l.pauses),
                line.map_or_else(String::new, |l| l.status.clone()),
            ]
        })
        .collect();
    eprintln!(
        "{}",
        table(
            &[
                "sender",
                "tier",
                "time zone and hours",
                "limits d/w/msg",
                "invites",
                "messages",
                "warnings",
                "pauses",
                "at the end"
            ],
            rows
        )
    );
}
