//! `plera audit`: the invariants of DESIGN §5 on the database's log, and on the provider's ledger
//! when one is given.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

use super::args::AuditArgs;
use super::db;
use super::error::CliError;
use super::output::{table, Output};
use super::Finished;
use crate::audit::{audit_store, read_ledger, AuditReport, Violation};
use crate::sandbox::LedgerEntry;

/// How many violations the human output lists before it summarises the rest.
const LISTED: usize = 50;

/// What `--json` prints.
#[derive(Serialize)]
struct AuditJson<'a> {
    passed: bool,
    #[serde(flatten)]
    report: &'a AuditReport,
}

/// Runs `plera audit`.
pub async fn run(url: &str, args: &AuditArgs, out: Output) -> Result<Finished, CliError> {
    let ledger = args.ledger.as_deref().map(load_ledger).transpose()?;
    let store = db::open_existing(url).await?;
    let report = audit_store(&store, ledger.as_deref()).await;
    store.close().await;
    let report = report?;
    if out.json {
        out.json(&AuditJson {
            passed: report.passed(),
            report: &report,
        })?;
    } else {
        print_violations(&report, out);
        print_verdict(&report);
    }
    Ok(if report.passed() {
        Finished::Ok
    } else {
        Finished::InvariantBroken
    })
}

fn load_ledger(path: &Path) -> Result<Vec<LedgerEntry>, CliError> {
    let file = std::fs::File::open(path).map_err(|e| CliError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    read_ledger(std::io::BufReader::new(file)).map_err(|source| CliError::Ledger {
        path: path.to_path_buf(),
        source,
    })
}

/// Lists violations on stderr (in every mode: they matter even when stdout is JSON), the first
/// [`LISTED`] of them.
pub fn print_violations(report: &AuditReport, out: Output) {
    for v in report.violations.iter().take(LISTED) {
        eprintln!("{v}");
    }
    if report.violations.len() > LISTED {
        eprintln!("... and {} more", report.violations.len() - LISTED);
    }
    if !report.passed() && !out.json {
        let mut per: BTreeMap<(u8, String), usize> = BTreeMap::new();
        for Violation {
            invariant, rule, ..
        } in &report.violations
        {
            *per.entry((*invariant, rule.to_string())).or_default() += 1;
        }
        let rows = per
            .into_iter()
            .map(|((i, rule), n)| vec![i.to_string(), rule, n.to_string()])
            .collect();
        eprintln!("{}", table(&["invariant", "rule", "violations"], rows));
    }
}

/// Where the views were judged, when it is not the log's end.
pub fn views_reach(report: &AuditReport) -> String {
    match report.views_position {
        Some(p) if p < report.events => format!(
            " (the views had reached position {p}: 7-8 judged up to there; a views command \
             such as `plera inbox` catches them up)"
        ),
        _ => String::new(),
    }
}

fn print_verdict(report: &AuditReport) {
    let ledger = report
        .ledger_entries
        .map(|n| format!(" and {n} ledger entries"))
        .unwrap_or_default();
    if report.passed() {
        eprintln!(
            "audit passed: invariants 1-8 hold over {} events{ledger}{}",
            report.events,
            views_reach(report)
        );
    } else {
        eprintln!(
            "audit failed: {} violations over {} events{ledger}",
            report.violations.len(),
            report.events
        );
    }
}
