//! An `EventLog` decorator whose appends fail when a test says: a database that drops a
//! transaction, another process that wrote to an aggregate first.

use async_trait::async_trait;
use plera_actors::store::{Condition, EventLog, LogWrapper, NewEvent, StoreError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What a [`FaultyLog`] answers an append instead of writing it (`None`: write it).
pub type Fault = Box<dyn Fn(&[NewEvent]) -> Option<StoreError> + Send + Sync>;

/// Forwards everything to the log it wraps, except the appends its fault refuses: those write
/// nothing and answer the fault's error. Conditional appends (a clustered engine's) go through
/// the fault too.
pub struct FaultyLog {
    inner: Arc<dyn EventLog>,
    fault: Fault,
    appends: AtomicUsize,
}

impl FaultyLog {
    /// Wraps `inner`; `fault` sees every append's events, in the order they are asked.
    pub fn new(
        inner: Arc<dyn EventLog>,
        fault: impl Fn(&[NewEvent]) -> Option<StoreError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            fault: Box::new(fault),
            appends: AtomicUsize::new(0),
        }
    }

    /// Appends asked so far, refused ones included.
    pub fn appends(&self) -> usize {
        self.appends.load(Ordering::SeqCst)
    }

    fn refused(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        (self.fault)(events).map_or(Ok(()), Err)
    }
}

#[async_trait]
impl LogWrapper for FaultyLog {
    fn inner(&self) -> &dyn EventLog {
        &*self.inner
    }

    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.refused(&events)?;
        self.inner.append(events).await
    }

    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        self.refused(&events)?;
        self.inner.append_if(events, conditions).await
    }
}
