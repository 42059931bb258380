use async_trait::async_trait;
use std::sync::Arc;

use super::{Condition, EventLog, Fence, LogWrapper, NewEvent, StoreError};

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
impl LogWrapper for FencedLog {
    fn inner(&self) -> &dyn EventLog {
        &*self.inner
    }

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
}
