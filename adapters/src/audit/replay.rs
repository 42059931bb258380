//! Invariant 8: projections rebuilt from position 0 equal the live ones.
//!
//! The audit must not touch the database, so the rebuild happens in memory: the log is folded
//! again through the same views into a complete [`Snapshot`] per view (as a rebuild folds: once
//! per batch, every read answered), each view up to its own checkpoint, and the result is
//! compared row by row with the live SQL tables, which the incremental runner wrote in batches of
//! its own. A difference is either a runner that applied a batch twice or skipped one, a
//! fold that depends on how the log was batched, or a table someone edited.

use std::sync::Arc;

use plera_projections::{all_views, decode_all, Envelope, Projection, Snapshot};

use crate::views::envelope;

use super::check::{AuditedEvent, Check};
use super::senders::SenderBook;
use super::views::{diff, diff_violations, LiveViews, Rows};
use super::violation::{Rule, Violation};

/// Events folded at a time (any split gives the same rows; this one bounds the memory held).
const BATCH: usize = 2_000;

/// The invariant 8 check (see the module documentation).
pub struct ReplayCheck {
    live: Arc<LiveViews>,
    views: Vec<Box<dyn Projection>>,
    /// Each view's rows, in the order of `views`.
    rows: Vec<Snapshot>,
    pending: Vec<Envelope>,
    /// The highest checkpoint: later events concern no view.
    upto: u64,
    /// Set when the fold failed: the comparison would only repeat it.
    failed: bool,
}

impl ReplayCheck {
    /// A check of every view in `live`.
    pub fn new(live: Arc<LiveViews>) -> Self {
        let upto = live.positions.values().copied().max().unwrap_or(0);
        let views = all_views();
        Self {
            live,
            rows: views.iter().map(|_| Snapshot::complete()).collect(),
            views,
            pending: Vec::new(),
            upto,
            failed: false,
        }
    }

    fn flush(&mut self, out: &mut Vec<Violation>) {
        let batch = std::mem::take(&mut self.pending);
        if batch.is_empty() || self.failed {
            return;
        }
        let decoded = match decode_all(&batch) {
            Ok(decoded) => decoded,
            Err(e) => return self.fail(out, e.to_string()),
        };
        for (view, rows) in self.views.iter().zip(self.rows.iter_mut()) {
            let upto = self.live.position(view.name());
            // The batch is in position order: the view's events are a prefix of it.
            let events = &decoded[..decoded.partition_point(|e| e.position <= upto)];
            if events.is_empty() {
                continue;
            }
            if let Err(e) = rows.fold(view.as_ref(), events) {
                let reason = format!("view {}: {e}", view.name());
                return self.fail(out, reason);
            }
        }
    }

    fn fail(&mut self, out: &mut Vec<Violation>, reason: String) {
        self.failed = true;
        out.push(Violation::in_views(
            Rule::ViewUnfoldable,
            None,
            "views",
            format!("the log cannot be folded from position 0: {reason}"),
        ));
    }
}

impl Check for ReplayCheck {
    fn observe(
        &mut self,
        event: &AuditedEvent<'_>,
        _senders: &SenderBook,
        out: &mut Vec<Violation>,
    ) {
        let e = event.stored;
        if e.position > self.upto || self.failed {
            return;
        }
        self.pending.push(envelope(e.clone()));
        if self.pending.len() >= BATCH {
            self.flush(out);
        }
    }

    fn finish(&mut self, _senders: &SenderBook, out: &mut Vec<Violation>) {
        self.flush(out);
        if self.failed {
            return;
        }
        for (view, rows) in self.views.iter().zip(&self.rows) {
            for table in view.tables() {
                let rebuilt: Rows = rows
                    .rows_of(table.name)
                    .map(|(key, row)| (key.clone(), row.clone()))
                    .collect();
                let live = self.live.rows(table.name);
                let d = diff(table, &live, &rebuilt);
                if !d.is_empty() {
                    out.extend(diff_violations(
                        table.name,
                        &d,
                        "the log folded again from position 0",
                    ));
                }
            }
        }
    }
}
