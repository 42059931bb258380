//! Invariant 8: projections rebuilt from position 0 equal the live ones.
//!
//! The audit must not touch the database, so the rebuild happens in memory: the log is folded
//! again through the same views into a complete [`Snapshot`] per view (as a rebuild folds: once
//! per batch, every read answered), each view up to its own checkpoint, and the result is
//! compared row by row with the live SQL tables, which the incremental runner wrote in batches of
//! its own. A difference is either a runner that applied a batch twice or skipped one, a
//! fold that depends on how the log was batched, or a table someone edited.

use std::sync::Arc;

use plera_projections::{all_views, Decoded, Projection, Snapshot};

use super::check::{AuditedEvent, Check};
use super::senders::SenderBook;
use super::views::{diff, diff_violations, LiveViews, Rows};
use super::violation::{Rule, Violation};
use crate::views::stored;

/// Events folded at a time (any split gives the same rows; this one bounds the memory held).
const BATCH: usize = 2_000;

/// The invariant 8 check (see the module documentation).
pub struct ReplayCheck {
    live: Arc<LiveViews>,
    views: Vec<Box<dyn Projection>>,
    /// Each view's rows, in the order of `views`.
    rows: Vec<Snapshot>,
    /// The batch being gathered, decoded as the audit reads it (its payloads are not copied).
    pending: Vec<Decoded>,
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
        let decoded = std::mem::take(&mut self.pending);
        if decoded.is_empty() || self.failed {
            return;
        }
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
        match stored(e).decode() {
            Ok(Some(decoded)) => self.pending.push(decoded),
            // An aggregate no view knows: the views skip it too.
            Ok(None) => {}
            Err(err) => return self.fail(out, err.to_string()),
        }
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
                    .map(|(key, row)| (key.clone(), row.to_vec()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::check::Decoded as AuditDecoded;
    use plera_actors::store::StoredEvent;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn stored(position: u64, aggregate_type: &str, payload: serde_json::Value) -> StoredEvent {
        StoredEvent {
            position,
            aggregate_type: aggregate_type.into(),
            aggregate_id: "seq-1".into(),
            sequence: position,
            event_type: payload["type"].as_str().unwrap_or("").into(),
            event_version: "1".into(),
            payload,
        }
    }

    /// Every view live up to position 10, with no rows.
    fn live() -> Arc<LiveViews> {
        let positions: BTreeMap<String, u64> = all_views()
            .iter()
            .map(|v| (v.name().to_string(), 10))
            .collect();
        Arc::new(LiveViews {
            positions,
            tables: BTreeMap::new(),
        })
    }

    fn observe(check: &mut ReplayCheck, e: &StoredEvent, out: &mut Vec<Violation>) {
        let event = AuditedEvent {
            stored: e,
            decoded: &AuditDecoded::Other,
        };
        check.observe(&event, &SenderBook::default(), out);
    }

    #[test]
    fn a_payload_the_views_cannot_decode_is_reported_once_as_unfoldable() {
        let mut check = ReplayCheck::new(live());
        let mut out = Vec::new();
        // An aggregate no view knows is skipped, as the views skip it.
        observe(
            &mut check,
            &stored(1, "billing", json!({"type": "Charged"})),
            &mut out,
        );
        // A lead event without its `at`: the views cannot fold the log past it.
        let broken = stored(2, "lead_sequence", json!({"type": "InviteAccepted"}));
        observe(&mut check, &broken, &mut out);
        observe(&mut check, &broken, &mut out);
        check.finish(&SenderBook::default(), &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].rule, Rule::ViewUnfoldable);
        assert!(out[0].message.contains("position 2"), "{}", out[0].message);
    }
}
