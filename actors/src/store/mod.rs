//! The event log port: what the runtime needs from an event store, and an in-memory one.
//!
//! Events keep cqrs-es's shape (aggregate type and id, sequence, event type and version, JSON
//! payload) and gain a global position: one total order that every reader (restart, replay,
//! export, projections) sees. Appends are atomic across aggregates, so one commit can carry the
//! events of many leads (group commit) with optimistic concurrency per aggregate.

mod fenced;
mod lease;
mod memory;
mod record;
mod wrapper;

pub use fenced::FencedLog;
pub use lease::{node_resource, sender_resource, Condition, Fence, Lease, LeaseStore};
pub use memory::MemoryEventLog;
pub use record::{decode, Tracked};
pub use wrapper::LogWrapper;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plera_domain::ids::AccountId;
use plera_domain::values::Action;
use serde_json::Value;
use thiserror::Error;

/// An event about to be appended.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// `Aggregate::TYPE` of its aggregate.
    pub aggregate_type: String,
    /// Its aggregate's id.
    pub aggregate_id: String,
    /// Its place in the aggregate's stream, from 1.
    pub sequence: u64,
    /// The event's name (`DomainEvent::event_type`).
    pub event_type: String,
    /// The event's schema version.
    pub event_version: String,
    /// The event as JSON.
    pub payload: Value,
}

/// An event as stored, with its global position. Its payload is parsed JSON by default; a
/// [`StoredText`] carries the JSON text the store keeps instead.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent<P = Value> {
    /// Position in the global order, from 1, gap-free within one store.
    pub position: u64,
    /// `Aggregate::TYPE` of its aggregate.
    pub aggregate_type: String,
    /// Its aggregate's id.
    pub aggregate_id: String,
    /// Its place in the aggregate's stream.
    pub sequence: u64,
    /// The event's name.
    pub event_type: String,
    /// The event's schema version.
    pub event_version: String,
    /// The event as JSON.
    pub payload: P,
}

/// An event as stored, its payload as the JSON text the store keeps: for a reader that decodes
/// payloads into types of its own and needs no parsed tree (the views' rebuild).
pub type StoredText = StoredEvent<String>;

impl<P> StoredEvent<P> {
    /// The same event with its payload turned into `Q`.
    pub fn map_payload<Q>(self, f: impl FnOnce(P) -> Q) -> StoredEvent<Q> {
        StoredEvent {
            position: self.position,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            sequence: self.sequence,
            event_type: self.event_type,
            event_version: self.event_version,
            payload: f(self.payload),
        }
    }
}

/// Why the store refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// Another writer appended to this aggregate first (optimistic concurrency).
    #[error("concurrent write to {aggregate_type} {aggregate_id}")]
    Conflict {
        /// The aggregate type.
        aggregate_type: String,
        /// The aggregate id.
        aggregate_id: String,
    },
    /// The database failed; nothing of the append was written.
    #[error("event store failure: {0}")]
    Backend(String),
    /// The append carried a fence whose lease moved to another process (or lapsed and was
    /// taken): nothing was written, and this process no longer owns the resource.
    #[error("lease on {resource} lost")]
    LeaseLost {
        /// The resource (`sender:<id>`).
        resource: String,
    },
    /// A stored event could not be read back as the type it claims to be.
    #[error("stored event at position {position} is unreadable: {reason}")]
    Corrupt {
        /// Its position.
        position: u64,
        /// What went wrong.
        reason: String,
    },
}

/// A LinkedIn action a sender started (a `StepStarted` of an invite or a message), as quotas count it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderAction {
    /// The sender.
    pub account_id: AccountId,
    /// Invite or message.
    pub action: Action,
    /// When it started.
    pub at: DateTime<Utc>,
}

/// The event log the runtime writes to and rebuilds from.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` atomically: all or nothing. For each aggregate the first new event's
    /// sequence must directly follow the stored last one, else [`StoreError::Conflict`].
    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError>;

    /// [`append`](Self::append), written only if every condition holds, checked in the same
    /// transaction. A store without a lease table takes only unconditional appends.
    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        if conditions.is_empty() {
            self.append(events).await
        } else {
            Err(StoreError::Backend(
                "this event store keeps no leases: run several engines on PostgreSQL".into(),
            ))
        }
    }

    /// Up to `limit` events with position greater than `after`, in position order. A reader
    /// that follows positions never skips an event, even with concurrent writers.
    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// [`read_after`](Self::read_after) with each payload as JSON text. A SQL store hands out
    /// the text it read, not parsed (the reader's decoding finds a payload that is not JSON);
    /// by default the parsed payload is written back out.
    async fn read_text_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredText>, StoreError> {
        let events = self.read_after(after, limit).await?;
        Ok(events
            .into_iter()
            .map(|e| e.map_payload(|payload| payload.to_string()))
            .collect())
    }

    /// Every event of one aggregate, in sequence order.
    async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// The LinkedIn actions `account` started at or after `since`: what a restarted sender's
    /// quota must count.
    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError>;
}

/// Reads the `SenderAction` a stored or new `StepStarted` event stands for, if it is one.
pub fn sender_action_of(event_type: &str, payload: &Value) -> Option<SenderAction> {
    if event_type != "StepStarted" {
        return None;
    }
    let action: Action = serde_json::from_value(payload.get("action")?.clone()).ok()?;
    if !action.is_linkedin() {
        return None;
    }
    let account_id = AccountId::new(payload.get("account_id")?.as_str()?);
    let at: DateTime<Utc> = serde_json::from_value(payload.get("at")?.clone()).ok()?;
    Some(SenderAction {
        account_id,
        action,
        at,
    })
}
