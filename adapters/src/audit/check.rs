//! The extension point of the audit: a check folds the log in position order and reports what
//! breaks its rule. Invariants 1–6 are built in; invariants 7 (every reply exactly once in the
//! unified inbox) and 8 (projections rebuilt from position 0 equal the live ones) are checks
//! added with [`Auditor::with_check`](super::Auditor::with_check) (see `inbox.rs`, `replay.rs`).

use plera_actors::store::StoredEvent;
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::sender::SenderAccountEvent;

use super::senders::SenderBook;
use super::violation::Violation;

/// An event as the audit reads it: as stored, and decoded when its aggregate is one the
/// invariants speak of.
pub struct AuditedEvent<'a> {
    /// The stored event (position, aggregate, payload).
    pub stored: &'a StoredEvent,
    /// The decoded event.
    pub decoded: &'a Decoded,
}

/// The events the invariants speak of.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// An event of a lead's sequence.
    Lead(LeadSequenceEvent),
    /// An event of a sender.
    Sender(SenderAccountEvent),
    /// Any other aggregate's (campaign, workspace, conversation).
    Other,
}

/// One rule (or a few related ones) checked over the whole log.
pub trait Check: Send {
    /// Looks at the next event; `senders` already includes it.
    fn observe(&mut self, event: &AuditedEvent<'_>, senders: &SenderBook, out: &mut Vec<Violation>);

    /// Reports what can only be judged once the whole log has been seen.
    fn finish(&mut self, _senders: &SenderBook, _out: &mut Vec<Violation>) {}
}
