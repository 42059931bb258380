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
pub use memory::MemoryTables;
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
