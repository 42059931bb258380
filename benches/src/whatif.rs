//! What-if decorators: each models one runtime or store change proposed in `BENCHMARKS.md`, from
//! outside the runtime, so its effect on the command path is measured rather than guessed. None
//! of them is meant for production as it stands (the write-behind one acknowledges an append
//! before it is durable, which the real change would not).

use async_trait::async_trait;
use plera_actors::store::{EventLog, LogWrapper, NewEvent, StoreError};
use plera_actors::{LeadDirectory, LeadProfile};
use plera_domain::ids::{LeadId, WorkspaceId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Profiles kept in memory after their first read: models a batched (one query per tick) or
/// cached profile lookup in the driver, instead of one query per started step.
pub struct CachedDirectory {
    inner: Arc<dyn LeadDirectory>,
    cache: Mutex<HashMap<(WorkspaceId, LeadId), Option<LeadProfile>>>,
}

impl CachedDirectory {
    /// Caches `inner`.
    pub fn new(inner: Arc<dyn LeadDirectory>) -> Self {
        Self {
            inner,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl LeadDirectory for CachedDirectory {
    async fn put(&self, w: &WorkspaceId, l: &LeadId, p: LeadProfile) -> Result<(), String> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(w.clone(), l.clone()));
        self.inner.put(w, l, p).await
    }

    async fn put_many(
        &self,
        w: &WorkspaceId,
        profiles: Vec<(LeadId, LeadProfile)>,
    ) -> Result<(), String> {
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            for (l, _) in &profiles {
                cache.remove(&(w.clone(), l.clone()));
            }
        }
        self.inner.put_many(w, profiles).await
    }

    async fn get(&self, w: &WorkspaceId, l: &LeadId) -> Result<Option<LeadProfile>, String> {
        let key = (w.clone(), l.clone());
        if let Some(p) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(p.clone());
        }
        let p = self.inner.get(w, l).await?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, p.clone());
        Ok(p)
    }
}

/// Holds every append without a `StepStarted` (a tick's outcomes) and writes it with the next
/// append that has one (the next tick's starts), or on [`WriteBehindLog::flush`]: models a driver
/// that commits a tick's outcomes together with the next tick's `StepStarted`, one commit per tick
/// instead of two. A plain engine's log: conditional appends (a clustered engine's) pass it by.
pub struct WriteBehindLog {
    inner: Arc<dyn EventLog>,
    pending: tokio::sync::Mutex<Vec<NewEvent>>,
    enabled: std::sync::atomic::AtomicBool,
}

impl WriteBehindLog {
    /// Wraps `inner`; holding back starts off (set-up appends go through at once).
    pub fn new(inner: Arc<dyn EventLog>) -> Self {
        Self {
            inner,
            pending: tokio::sync::Mutex::new(Vec::new()),
            enabled: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Starts or stops holding outcomes back.
    pub fn hold_outcomes(&self, on: bool) {
        self.enabled.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Writes what is held.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let held = std::mem::take(&mut *self.pending.lock().await);
        if held.is_empty() {
            return Ok(());
        }
        self.inner.append(held).await
    }
}

#[async_trait]
impl LogWrapper for WriteBehindLog {
    fn inner(&self) -> &dyn EventLog {
        &*self.inner
    }

    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        let mut pending = self.pending.lock().await;
        let starts = events.iter().any(|e| e.event_type == "StepStarted");
        if self.enabled.load(std::sync::atomic::Ordering::Relaxed) && !starts {
            pending.extend(events);
            return Ok(());
        }
        let mut all = std::mem::take(&mut *pending);
        all.extend(events);
        self.inner.append(all).await
    }
}
