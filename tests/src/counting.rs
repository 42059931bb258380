//! An `EventLog` decorator that counts what the runtime asks of the store: the evidence that a
//! command's cost does not grow with history (the actors keep their state in memory, and only
//! start-up reads the log).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plera_actors::store::{
    Condition, EventLog, LogWrapper, NewEvent, SenderAction, StoreError, StoredEvent, StoredText,
};
use plera_domain::ids::AccountId;
use std::sync::{Arc, Mutex};

/// What was asked of the store so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreCalls {
    /// `append` and `append_if` calls.
    pub appends: usize,
    /// Events appended.
    pub appended_events: usize,
    /// `load` calls, as (aggregate type, aggregate id).
    pub loads: Vec<(String, String)>,
    /// `read_after` and `read_text_after` calls.
    pub reads: usize,
    /// Events returned by the reads and `load`.
    pub events_read: usize,
    /// `sender_actions` calls.
    pub sender_actions: usize,
}

impl StoreCalls {
    /// What happened between `earlier` and `self` (`earlier` taken from the same counter).
    pub fn since(&self, earlier: &StoreCalls) -> StoreCalls {
        StoreCalls {
            appends: self.appends - earlier.appends,
            appended_events: self.appended_events - earlier.appended_events,
            loads: self.loads[earlier.loads.len()..].to_vec(),
            reads: self.reads - earlier.reads,
            events_read: self.events_read - earlier.events_read,
            sender_actions: self.sender_actions - earlier.sender_actions,
        }
    }
}

/// Counts the calls made to the log it wraps; counters are shared by clones and survive
/// swapping the inner log (an engine rebuilt on a reopened database).
pub struct CountingLog {
    inner: Arc<dyn EventLog>,
    calls: Arc<Mutex<StoreCalls>>,
}

impl CountingLog {
    /// Wraps `inner`, counting into `calls`.
    pub fn new(inner: Arc<dyn EventLog>, calls: Arc<Mutex<StoreCalls>>) -> Self {
        Self { inner, calls }
    }

    fn count(&self, update: impl FnOnce(&mut StoreCalls)) {
        update(&mut self.calls.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn appending(&self, events: &[NewEvent]) {
        self.count(|c| {
            c.appends += 1;
            c.appended_events += events.len();
        });
    }
}

#[async_trait]
impl LogWrapper for CountingLog {
    fn inner(&self) -> &dyn EventLog {
        &*self.inner
    }

    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.appending(&events);
        self.inner.append(events).await
    }

    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        self.appending(&events);
        self.inner.append_if(events, conditions).await
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.count(|c| c.reads += 1);
        let events = self.inner.read_after(after, limit).await?;
        self.count(|c| c.events_read += events.len());
        Ok(events)
    }

    async fn read_text_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredText>, StoreError> {
        self.count(|c| c.reads += 1);
        let events = self.inner.read_text_after(after, limit).await?;
        self.count(|c| c.events_read += events.len());
        Ok(events)
    }

    async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.count(|c| {
            c.loads
                .push((aggregate_type.to_string(), aggregate_id.to_string()))
        });
        let events = self.inner.load(aggregate_type, aggregate_id).await?;
        self.count(|c| c.events_read += events.len());
        Ok(events)
    }

    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError> {
        self.count(|c| c.sender_actions += 1);
        self.inner.sender_actions(account, since).await
    }
}
