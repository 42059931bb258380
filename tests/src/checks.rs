//! Checks of a run's log, alone and against the sandbox's ledger; each returns the violations it
//! found, so a failing test shows all of them.

use plera_actors::store::StoredEvent;
use plera_adapters::sandbox::LedgerEntry;
use plera_domain::values::Action;
use std::collections::{BTreeMap, HashMap};

/// Per sequence, in log order: no step after a reply or stop, messages only after acceptance, at
/// most one invite sent.
pub fn log_violations(events: &[StoredEvent]) -> Vec<String> {
    let mut stopped: HashMap<&str, bool> = HashMap::new();
    let mut accepted: HashMap<&str, bool> = HashMap::new();
    let mut invites: HashMap<&str, u32> = HashMap::new();
    let mut out = Vec::new();
    for e in events {
        let id = e.aggregate_id.as_str();
        match e.event_type.as_str() {
            "ReplyReceived" | "SequenceStopped" => {
                stopped.insert(id, true);
            }
            "InviteAccepted" => {
                accepted.insert(id, true);
            }
            "StepStarted" if stopped.get(id).copied().unwrap_or(false) => {
                out.push(format!("step after stop in {id} at {}", e.position));
            }
            "MessageSent" if !accepted.get(id).copied().unwrap_or(false) => {
                out.push(format!("message without acceptance in {id}"));
            }
            "InviteSent" => {
                let n = invites.entry(id).or_default();
                *n += 1;
                if *n > 1 {
                    out.push(format!("second invite in {id}"));
                }
            }
            _ => {}
        }
    }
    out
}

/// One side effect as both records can name it: the sequence, the action and its text (note,
/// message text or email subject).
type Effect = (String, String, Option<String>);

/// The log's `InviteSent`/`MessageSent`/`EmailSent` against what the sandbox really performed:
/// the same effects, with the same texts, each exactly as often. Returns the differences.
pub fn sent_vs_ledger(events: &[StoredEvent], ledger: &[LedgerEntry]) -> Vec<String> {
    let mut counts: BTreeMap<Effect, i64> = BTreeMap::new();
    for e in events {
        let (action, field) = match e.event_type.as_str() {
            "InviteSent" => (Action::Invite, "note"),
            "MessageSent" => (Action::Message, "text"),
            "EmailSent" => (Action::Email, "subject"),
            _ => continue,
        };
        let text = e
            .payload
            .get(field)
            .and_then(|v| v.as_str())
            .map(str::to_string);
        *counts
            .entry((e.aggregate_id.clone(), action.to_string(), text))
            .or_default() += 1;
    }
    for entry in ledger {
        let sequence = entry.key.split('#').next().unwrap_or_default().to_string();
        let text = match entry.action {
            Action::Invite => entry.note.clone(),
            Action::Message => entry.text.clone(),
            Action::Email => entry.subject.clone(),
        };
        *counts
            .entry((sequence, entry.action.to_string(), text))
            .or_default() -= 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((sequence, action, text), n)| {
            format!("{action} of {sequence} ({text:?}): log minus ledger = {n}")
        })
        .collect()
}

/// Positions run 1..=N with no gap or repeat, and every aggregate's sequence runs 1..=n in
/// position order: no event lost, none written twice.
pub fn gap_violations(events: &[StoredEvent]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e.position != i as u64 + 1 {
            out.push(format!("event #{} has position {}", i + 1, e.position));
            break;
        }
    }
    let mut last: HashMap<(&str, &str), u64> = HashMap::new();
    for e in events {
        let seq = last
            .entry((e.aggregate_type.as_str(), e.aggregate_id.as_str()))
            .or_default();
        if e.sequence != *seq + 1 {
            out.push(format!(
                "{} {}: sequence {} after {} (position {})",
                e.aggregate_type, e.aggregate_id, e.sequence, seq, e.position
            ));
        }
        *seq = e.sequence;
    }
    out
}
