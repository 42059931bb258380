//! Benchmark 3, the simulation: wall time of `plera simulate --seed 1 --days 30 --leads 10000
//! --accounts 20` (the release binary, run as a user would) and lead-days per wall second.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::db::{BenchDb, Kind};
use crate::machine;
use crate::report::Figure;

/// What the simulation run printed and how long the process took.
struct SimRun {
    wall_ms: f64,
    process_s: f64,
    events: u64,
}

fn once(plera: &Path, url: &str, days: u32, leads: u32, accounts: u32) -> Result<SimRun, String> {
    let began = Instant::now();
    let out = Command::new(plera)
        .args([
            "simulate",
            "--seed",
            "1",
            "--days",
            &days.to_string(),
            "--leads",
            &leads.to_string(),
            "--accounts",
            &accounts.to_string(),
            "--reset",
            "--json",
            "--db",
            url,
        ])
        .output()
        .map_err(|e| format!("{}: {e}", plera.display()))?;
    let process_s = began.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "plera simulate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("simulate --json: {e}"))?;
    Ok(SimRun {
        wall_ms: json["wall_ms"].as_f64().unwrap_or(f64::NAN),
        process_s,
        events: json["events"].as_u64().unwrap_or(0),
    })
}

/// Runs the simulation `repeats` times on `kind` with the `plera` binary at `plera`.
pub async fn bench(
    plera: &Path,
    kind: Kind,
    pg_base: &str,
    (days, leads, accounts): (u32, u32, u32),
    repeats: usize,
) -> Result<Vec<Figure>, String> {
    let (mut wall, mut process, mut lead_days) = (vec![], vec![], vec![]);
    let mut events = 0;
    for r in 0..repeats {
        eprintln!(
            "simulation on {}: round {} of {repeats}",
            kind.name(),
            r + 1
        );
        let db = BenchDb::new(kind, pg_base).await?;
        let run = once(plera, db.url(), days, leads, accounts)?;
        db.drop_now().await?;
        wall.push(run.wall_ms / 1000.0);
        process.push(run.process_s);
        lead_days.push(f64::from(leads) * f64::from(days) / (run.wall_ms / 1000.0));
        events = run.events;
    }
    let load = machine::load_1m();
    let what = format!("--seed 1 --days {days} --leads {leads} --accounts {accounts}");
    Ok(vec![
        Figure::from_runs(
            "simulate",
            kind.name(),
            format!("wall time (wall_ms), {what}"),
            "s",
            wall,
            load,
        )
        .note(format!("{events} events")),
        Figure::from_runs(
            "simulate",
            kind.name(),
            format!("process wall time incl. start-up and audit, {what}"),
            "s",
            process,
            load,
        ),
        Figure::from_runs(
            "simulate",
            kind.name(),
            "lead-days per wall second",
            "lead-days/s",
            lead_days,
            load,
        ),
    ])
}
