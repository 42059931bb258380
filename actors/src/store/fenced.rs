use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plera_domain::ids::AccountId;
use std::sync::Arc;

use super::{
    Condition, EventLog, Fence, NewEvent, SenderAction, StoreError, StoredEvent, StoredText,
};

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
            .append_if(events, &[Condition::Lease(self.fence.clone())])
            .await
    }

    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        let mut all = conditions.to_vec();
        all.push(Condition::Lease(self.fence.clone()));
        self.inner.append_if(events, &all).await
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_after(after, limit).await
    }

    async fn read_text_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredText>, StoreError> {
        self.inner.read_text_after(after, limit).await
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
