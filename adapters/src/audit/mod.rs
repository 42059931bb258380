//! The audit behind `plera audit` and `plera simulate`: the invariants of DESIGN §5 checked on the
//! event log itself (read in position order through [`EventLog::read_after`]) and, given the
//! sandbox provider's ledger, against what the provider really did.
//!
//! Invariants 1–6 are built in. 7 (the unified inbox) and 8 (projections equal after a replay) are
//! [`Check`]s on the views' live rows, loaded beforehand ([`LiveViews`]) and added with
//! [`Auditor::with_views`]; [`audit_store`] runs all eight on a database without writing to it.

mod check;
mod conduct;
mod inbox;
mod ledger;
mod quota;
mod replay;
mod senders;
mod sequences;
mod views;
mod violation;

pub use check::{AuditedEvent, Check, Decoded};
pub use inbox::InboxCheck;
pub use ledger::{check_ledger, read_ledger, LedgerReadError};
pub use replay::ReplayCheck;
pub use senders::{RecordedPause, SenderBook, SenderFacts};
pub use views::{compare, diff, diff_violations, keyed, LiveViews, Rows, TableDiff};
pub use violation::{Rule, Source, Violation};

use plera_actors::store::{EventLog, StoreError, StoredEvent};
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::sender::SenderAccountEvent;
use plera_projections::queries::ViewError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use thiserror::Error;

use crate::sandbox::LedgerEntry;
use crate::store::Store;
use crate::views::Views;

/// Events read per page.
const PAGE: usize = 5_000;

/// The outcome of an audit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Events read.
    pub events: u64,
    /// Ledger entries checked, when a ledger was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_entries: Option<u64>,
    /// When the views were checked (invariants 7 and 8): the log position every view had
    /// reached, up to which they were judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views_position: Option<u64>,
    /// What broke, in the order found.
    pub violations: Vec<Violation>,
}

impl AuditReport {
    /// Whether every invariant holds.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Folds a log, event by event, through every check.
pub struct Auditor {
    senders: SenderBook,
    quota: quota::QuotaCheck,
    conduct: conduct::ConductCheck,
    notes: conduct::NoteCheck,
    sequences: sequences::SequenceCheck,
    extra: Vec<Box<dyn Check>>,
    views_position: Option<u64>,
    violations: Vec<Violation>,
    events: u64,
}

impl Default for Auditor {
    fn default() -> Self {
        Self::new()
    }
}

impl Auditor {
    /// An auditor of invariants 1–6.
    pub fn new() -> Self {
        Self {
            senders: SenderBook::default(),
            quota: quota::QuotaCheck::default(),
            conduct: conduct::ConductCheck,
            notes: conduct::NoteCheck,
            sequences: sequences::SequenceCheck::default(),
            extra: Vec::new(),
            views_position: None,
            violations: Vec::new(),
            events: 0,
        }
    }

    /// Adds a check (invariants 7 and 8 come this way).
    pub fn with_check(mut self, check: Box<dyn Check>) -> Self {
        self.extra.push(check);
        self
    }

    /// Adds invariants 7 (every inbound reply once in the unified inbox) and 8 (the views equal
    /// the log folded again from position 0), judged on `live` up to its checkpoints.
    pub fn with_views(mut self, live: LiveViews) -> Self {
        let live = Arc::new(live);
        self.views_position = Some(live.lowest_position());
        self.with_check(Box::new(InboxCheck::new(live.clone())))
            .with_check(Box::new(ReplayCheck::new(live)))
    }

    /// Looks at the next event of the log (events must come in position order).
    pub fn observe(&mut self, stored: &StoredEvent) {
        self.events += 1;
        let decoded = match decode(stored) {
            Ok(d) => d,
            Err(reason) => {
                self.violations.push(Violation::in_log(
                    Rule::Unreadable,
                    stored.position,
                    &stored.aggregate_id,
                    format!("{} is unreadable: {reason}", stored.event_type),
                ));
                return;
            }
        };
        if let Decoded::Sender(event) = &decoded {
            self.senders.apply(&stored.aggregate_id, event);
        }
        let event = AuditedEvent {
            stored,
            decoded: &decoded,
        };
        let out = &mut self.violations;
        let senders = &self.senders;
        self.quota.observe(&event, senders, out);
        self.conduct.observe(&event, senders, out);
        self.notes.observe(&event, senders, out);
        self.sequences.observe(&event, senders, out);
        for check in &mut self.extra {
            check.observe(&event, senders, out);
        }
    }

    /// The report, with the ledger checked against the log when given.
    pub fn finish(mut self, ledger: Option<&[LedgerEntry]>) -> AuditReport {
        let out = &mut self.violations;
        let senders = &self.senders;
        self.quota.finish(senders, out);
        self.conduct.finish(senders, out);
        self.notes.finish(senders, out);
        self.sequences.finish(senders, out);
        for check in &mut self.extra {
            check.finish(senders, out);
        }
        if let Some(ledger) = ledger {
            out.extend(check_ledger(ledger, senders, self.sequences.steps()));
        }
        AuditReport {
            events: self.events,
            ledger_entries: ledger.map(|l| l.len() as u64),
            views_position: self.views_position,
            violations: self.violations,
        }
    }
}

/// Reads an event of the aggregates the invariants speak of as its domain type.
fn decode(stored: &StoredEvent) -> Result<Decoded, String> {
    let decoded = match stored.aggregate_type.as_str() {
        // Deserialized from the borrowed payload: no copy of its tree first.
        "lead_sequence" => Decoded::Lead(
            LeadSequenceEvent::deserialize(&stored.payload).map_err(|e| e.to_string())?,
        ),
        "sender_account" => Decoded::Sender(
            SenderAccountEvent::deserialize(&stored.payload).map_err(|e| e.to_string())?,
        ),
        _ => Decoded::Other,
    };
    Ok(decoded)
}

/// Calls `f` on every event of `log`, in position order, a page at a time; returns how many.
/// Stops at the first error `f` returns.
pub async fn scan<E: From<StoreError>>(
    log: &dyn EventLog,
    mut f: impl FnMut(&StoredEvent) -> Result<(), E>,
) -> Result<u64, E> {
    let mut after = 0;
    let mut count = 0;
    loop {
        let page = log.read_after(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(count);
        };
        after = last.position;
        for event in &page {
            f(event)?;
        }
        count += page.len() as u64;
    }
}

/// Why an audit could not run to its verdict.
#[derive(Debug, Error)]
pub enum AuditError {
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The views could not be read.
    #[error("cannot read the views: {0}")]
    Views(#[from] ViewError),
}

/// Audits a database: invariants 1–6 on its whole log (and `ledger`, when given), 7 and 8 on its
/// views up to their checkpoints. Nothing is written: the views are not caught up first.
pub async fn audit_store(
    store: &Store,
    ledger: Option<&[LedgerEntry]>,
) -> Result<AuditReport, AuditError> {
    let live = LiveViews::load(&Views::new(store)).await?;
    let mut auditor = Auditor::new().with_views(live);
    scan(store.event_log().as_ref(), |e| {
        auditor.observe(e);
        Ok::<(), StoreError>(())
    })
    .await?;
    Ok(auditor.finish(ledger))
}

/// Audits the whole `log` (and `ledger`, when given).
pub async fn audit_log(
    log: &dyn EventLog,
    ledger: Option<&[LedgerEntry]>,
) -> Result<AuditReport, StoreError> {
    let mut auditor = Auditor::new();
    scan(log, |e| {
        auditor.observe(e);
        Ok::<(), StoreError>(())
    })
    .await?;
    Ok(auditor.finish(ledger))
}
