//! One way to wrap an event log: a [`LogWrapper`] names the log it wraps and overrides only what
//! it changes; every other call reaches the wrapped log unchanged.
//!
//! Wrappers written out by hand forgot calls: a wrapper without `append_if` refused a clustered
//! engine's conditional appends, one without `read_text_after` made a store that reads text parse
//! every payload and write it out again. Here the forwarding is written once, for every wrapper.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plera_domain::ids::AccountId;

use super::{Condition, EventLog, NewEvent, SenderAction, StoreError, StoredEvent, StoredText};

/// A log around another one ([`inner`](Self::inner)). Each method's default passes the call to
/// the wrapped log as it is; a wrapper overrides the ones it changes. Every `LogWrapper` is an
/// [`EventLog`]. `append_if` is a call of its own: a wrapper that changes what a clustered engine
/// appends (its appends are conditional) overrides it beside `append`.
#[async_trait]
pub trait LogWrapper: Send + Sync + 'static {
    /// The wrapped log.
    fn inner(&self) -> &dyn EventLog;

    /// [`EventLog::append`].
    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.inner().append(events).await
    }

    /// [`EventLog::append_if`].
    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        self.inner().append_if(events, conditions).await
    }

    /// [`EventLog::read_after`].
    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner().read_after(after, limit).await
    }

    /// [`EventLog::read_text_after`].
    async fn read_text_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredText>, StoreError> {
        self.inner().read_text_after(after, limit).await
    }

    /// [`EventLog::load`].
    async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner().load(aggregate_type, aggregate_id).await
    }

    /// [`EventLog::sender_actions`].
    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError> {
        self.inner().sender_actions(account, since).await
    }
}

#[async_trait]
impl<W: LogWrapper> EventLog for W {
    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        LogWrapper::append(self, events).await
    }

    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        LogWrapper::append_if(self, events, conditions).await
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        LogWrapper::read_after(self, after, limit).await
    }

    async fn read_text_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredText>, StoreError> {
        LogWrapper::read_text_after(self, after, limit).await
    }

    async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        LogWrapper::load(self, aggregate_type, aggregate_id).await
    }

    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError> {
        LogWrapper::sender_actions(self, account, since).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryEventLog;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Changes nothing but counts appends: everything else must reach the wrapped log.
    struct Appends {
        inner: Arc<dyn EventLog>,
        seen: AtomicUsize,
    }

    #[async_trait]
    impl LogWrapper for Appends {
        fn inner(&self) -> &dyn EventLog {
            &*self.inner
        }

        async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
            self.seen.fetch_add(1, Ordering::SeqCst);
            self.inner.append(events).await
        }
    }

    fn noted(sequence: u64) -> NewEvent {
        NewEvent {
            aggregate_type: "Note".into(),
            aggregate_id: "n-1".into(),
            sequence,
            event_type: "Noted".into(),
            event_version: "1".into(),
            payload: json!({ "n": sequence }),
        }
    }

    #[tokio::test]
    async fn calls_a_wrapper_does_not_override_reach_the_wrapped_log() {
        let inner: Arc<dyn EventLog> = Arc::new(MemoryEventLog::default());
        let wrapper = Arc::new(Appends {
            inner: inner.clone(),
            seen: AtomicUsize::new(0),
        });
        let wrapped: Arc<dyn EventLog> = wrapper.clone();
        wrapped.append(vec![noted(1)]).await.unwrap();
        // Straight to the wrapped log, not through the wrapper's `append`.
        wrapped.append_if(vec![noted(2)], &[]).await.unwrap();
        assert_eq!(wrapper.seen.load(Ordering::SeqCst), 1);
        assert_eq!(inner.read_after(0, 10).await.unwrap().len(), 2);
        assert_eq!(wrapped.read_after(0, 10).await.unwrap().len(), 2);
        let texts = wrapped.read_text_after(1, 10).await.unwrap();
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].payload, r#"{"n":2}"#);
        assert_eq!(wrapped.load("Note", "n-1").await.unwrap().len(), 2);
        let since = DateTime::<Utc>::MIN_UTC;
        assert!(wrapped
            .sender_actions(&AccountId::new("acc"), since)
            .await
            .unwrap()
            .is_empty());
    }
}
