#![warn(missing_docs)]
//! plera's read models, folded from the event log: the unified inbox, sender health & quota, and
//! campaign funnels.
//!
//! Every view is a pure, deterministic fold of events into rows ([`Projection`]): no database,
//! no clock, no randomness — the same events give byte-identical rows however they are batched.
//! Storage belongs to a runner (the SQL one lives in `plera-adapters`), which loads the rows a
//! batch asks for ([`stage`]), writes the batch's [`Change`]s and the view's checkpoint in one
//! transaction, and rebuilds a view by replaying the log from position 0. [`ViewQueries`] is the
//! port through which the engine reads the views back.

pub mod envelope;
pub mod funnel;
pub mod inbox;
pub mod memory;
pub mod projection;
pub mod queries;
pub mod rows;
pub mod senders;
pub mod stage;
pub mod time;

#[cfg(test)]
mod testing;

pub use envelope::{decode_all, Decoded, Envelope, Event};
pub use funnel::FunnelView;
pub use inbox::InboxView;
pub use memory::{Applied, MemoryTables};
pub use projection::{Projection, ProjectionError};
pub use queries::ViewQueries;
pub use rows::{Change, Record, Value};
pub use senders::SenderView;
pub use stage::{Outcome, Read, Snapshot, Stage};

/// Every view, in the order runners apply them.
pub fn all_views() -> Vec<Box<dyn Projection>> {
    vec![
        Box::new(InboxView),
        Box::new(SenderView),
        Box::new(FunnelView),
    ]
}

/// The text of a unit enum as serde names it (`Channel::Linkedin` → `linkedin`), for enum
/// columns that must read like the event contract.
pub(crate) fn tag<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Reads an enum back from its column text.
pub(crate) fn untag<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use plera_domain::ids::ProviderMessageId;
    use plera_domain::lead::LeadSequenceEvent as L;
    use plera_domain::values::{Action, Channel, ConnectionDegree};

    use super::*;
    use crate::testing::{rounds, t, Log};

    /// Many sequences in one batch, each with rows that depend on rows of others (threads, campaign
    /// and step counters): every view settles in a fixed number of rounds, not one per event.
    #[test]
    fn a_large_batch_settles_in_a_few_rounds() {
        let mut log = Log::default();
        for i in 0..200 {
            let seq = format!("ws/c{}/l{i}", i % 3);
            let at = t(9, 0) + Duration::minutes(i);
            log.lead(
                &seq,
                L::SequenceStarted {
                    workspace_id: "ws".into(),
                    lead_id: format!("l{i}").into(),
                    campaign_id: format!("c{}", i % 3).into(),
                    play: "linkedin-first".into(),
                    account_id: format!("acc-{}", i % 4).into(),
                    mailbox_id: None,
                    connection_degree: ConnectionDegree::Second,
                    email_known: false,
                    at,
                },
            )
            .lead(
                &seq,
                L::StepStarted {
                    step: 0,
                    action: Action::Invite,
                    account_id: Some(format!("acc-{}", i % 4).into()),
                    mailbox_id: None,
                    at,
                },
            )
            .lead(
                &seq,
                L::InviteSent {
                    step: 0,
                    account_id: format!("acc-{}", i % 4).into(),
                    note: None,
                    at,
                },
            )
            .lead(
                &seq,
                L::ReplyReceived {
                    channel: Channel::Linkedin,
                    message_id: ProviderMessageId::new(format!("r{i}")),
                    text: "hi".into(),
                    at,
                },
            );
        }
        for view in all_views() {
            let n = rounds(view.as_ref(), &log.events);
            assert!(n <= 3, "{} took {n} rounds", view.name());
        }
    }
}
