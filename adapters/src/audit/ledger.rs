//! The log against the provider's own record of what it really did (the sandbox ledger): no
//! step's action performed twice, the performed actions within each sender's limits and working
//! hours, every performed action recorded in the log, and every recorded send performed.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use plera_domain::values::Action;

use super::conduct::within_hours;
use super::quota::{over_limits, Counted};
use super::senders::SenderBook;
use super::sequences::StepRecord;
use super::violation::{Rule, Source, Violation};
use crate::sandbox::LedgerEntry;

/// Why a ledger file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LedgerReadError {
    /// Reading failed.
    #[error("line {line}: {reason}")]
    Io {
        /// The line (from 1).
        line: u64,
        /// Why.
        reason: String,
    },
    /// A line is not a ledger entry.
    #[error("line {line} is not a ledger entry: {reason}")]
    Malformed {
        /// The line (from 1).
        line: u64,
        /// Why.
        reason: String,
    },
}

/// Reads JSON lines of ledger entries (blank lines are skipped).
pub fn read_ledger(reader: impl BufRead) -> Result<Vec<LedgerEntry>, LedgerReadError> {
    let mut entries = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let number = i as u64 + 1;
        let line = line.map_err(|e| LedgerReadError::Io {
            line: number,
            reason: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = serde_json::from_str(&line).map_err(|e| LedgerReadError::Malformed {
            line: number,
            reason: e.to_string(),
        })?;
        entries.push(entry);
    }
    Ok(entries)
}

/// The ledger's violations, given the log's senders and steps. Ledger lines are numbered from 1
/// in the order given.
pub fn check_ledger(
    ledger: &[LedgerEntry],
    senders: &SenderBook,
    steps: &HashMap<(String, u32), StepRecord>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut performed: HashMap<(String, Action), (u64, u32)> = HashMap::new();
    let mut per_sender: BTreeMap<String, Vec<Counted>> = BTreeMap::new();
    for (i, entry) in ledger.iter().enumerate() {
        let line = i as u64 + 1;
        let seen = performed
            .entry((entry.key.clone(), entry.action))
            .or_insert((line, 0));
        seen.1 += 1;
        if seen.1 == 2 {
            out.push(Violation::in_ledger(
                Rule::LedgerDuplicate,
                Some(line),
                &entry.key,
                format!(
                    "the provider performed this {} again (first at line {})",
                    entry.action, seen.0
                ),
            ));
        }
        let recorded = parse_key(&entry.key)
            .and_then(|k| steps.get(&k))
            .is_some_and(|r| {
                (r.sent > 0 && r.action == Some(entry.action)) || (r.sent == 0 && r.unknown)
            });
        if !recorded {
            out.push(Violation::in_ledger(
                Rule::LedgerUnrecorded,
                Some(line),
                &entry.key,
                format!(
                    "the provider performed a {} at {} that the log does not record",
                    entry.action,
                    entry.at.to_rfc3339()
                ),
            ));
        }
        let Some(account) = &entry.account_id else {
            continue;
        };
        let Some(facts) = senders.get(account.as_str()) else {
            out.push(Violation::in_ledger(
                Rule::UnknownSender,
                Some(line),
                account.as_str(),
                format!("a {} by a sender the log never connected", entry.action),
            ));
            continue;
        };
        if !within_hours(facts, entry.at) {
            out.push(Violation::in_ledger(
                Rule::OutsideWorkingHours,
                Some(line),
                account.as_str(),
                format!(
                    "the provider received a {} at {} local, outside working hours",
                    entry.action,
                    entry
                        .at
                        .with_timezone(&facts.timezone)
                        .format("%Y-%m-%d %H:%M")
                ),
            ));
        }
        per_sender
            .entry(account.to_string())
            .or_default()
            .push(Counted {
                at: entry.at,
                action: entry.action,
                limits: facts.limits_at(entry.at),
                place: Some(line),
            });
    }
    for (account, mut actions) in per_sender {
        if let Some(facts) = senders.get(&account) {
            out.extend(over_limits(
                &account,
                facts.timezone,
                &mut actions,
                Source::Ledger,
            ));
        }
    }
    let mut missing: Vec<(&(String, u32), &StepRecord)> = steps
        .iter()
        .filter(|((sequence, step), r)| {
            r.sent > 0
                && r.action
                    .is_some_and(|a| !performed.contains_key(&(format!("{sequence}#{step}"), a)))
        })
        .collect();
    missing.sort_by(|a, b| a.0.cmp(b.0));
    for ((sequence, step), record) in missing {
        out.push(Violation::in_ledger(
            Rule::NotInLedger,
            None,
            &format!("{sequence}#{step}"),
            format!(
                "the log records a {} the provider never received",
                record.action.map_or("send".to_string(), |a| a.to_string())
            ),
        ));
    }
    out
}

/// `sequence#step` as the log's step key.
fn parse_key(key: &str) -> Option<(String, u32)> {
    let (sequence, step) = key.rsplit_once('#')?;
    Some((sequence.to_string(), step.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_lines_are_read_and_bad_ones_named() {
        let text = "{\"at\":\"2026-03-02T10:00:00Z\",\"account_id\":\"acc-1\",\"lead_id\":\"l\",\
                    \"action\":\"invite\",\"key\":\"ws/c/l#0\"}\n\n";
        let entries = read_ledger(text.as_bytes()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(parse_key(&entries[0].key), Some(("ws/c/l".into(), 0)));
        let err = read_ledger("{}\n".as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("line 1 is not a ledger entry"));
    }
}
