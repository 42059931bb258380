use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plera_domain::ids::AccountId;
use std::sync::Arc;

use super::{EventLog, Fence, NewEvent, SenderAction, StoreError, StoredEvent};

/// A log whose every append carries one fence: what an owned sender's desk writes through, so
/// none of its appends lands once its lease moved to another process.
pub struct FencedLog {
    inner: Arc<dyn EventLog>,
    fence: Fence,
}

impl FencedLog {
    /// `inner`, fenced by `fence`.
    pub fn new(inner: Arc<dyn EventLog>, fence: Fence) -> Self {
        Self { inner, fence }
    }
}

#[async_trait]
impl EventLog for FencedLog {
    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.inner
            .append_fenced(events, std::slice::from_ref(&self.fence))
            .await
    }

    async fn append_fenced(
        &self,
        events: Vec<NewEvent>,
        fences: &[Fence],
    ) -> Result<(), StoreError> {
        let mut all = fences.to_vec();
        all.push(self.fence.clone());
        self.inner.append_fenced(events, &all).await
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_after(after, limit).await
    }

    async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.load(aggregate_type, aggregate_id).await
    }

    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError> {
        self.inner.sender_actions(account, since).await
    }
}
