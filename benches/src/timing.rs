//! Decorators that time every call the engine makes to its log and lead directory, so a run can
//! say where its wall time went (waiting on appends, on profile reads, or elsewhere) without a
//! profiler. An `Instant::now()` pair per call is noise beside a database round trip.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plera_actors::store::{
    Condition, EventLog, LogWrapper, NewEvent, SenderAction, StoreError, StoredEvent, StoredText,
};
use plera_actors::{LeadDirectory, LeadProfile};
use plera_domain::ids::{AccountId, LeadId, WorkspaceId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Calls and the time spent in them.
#[derive(Debug, Default)]
pub struct Stats {
    appends: AtomicU64,
    append_ns: AtomicU64,
    appended: AtomicU64,
    reads: AtomicU64,
    read_ns: AtomicU64,
    scans: AtomicU64,
    scan_ns: AtomicU64,
    scanned: AtomicU64,
    gets: AtomicU64,
    get_ns: AtomicU64,
}

/// A copy of [`Stats`] at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `append` calls.
    pub appends: u64,
    /// Time in them.
    pub append_time: Duration,
    /// Events appended.
    pub appended: u64,
    /// `read_after`, `load` and `sender_actions` calls.
    pub reads: u64,
    /// Time in them.
    pub read_time: Duration,
    /// Of those, `read_after` calls (a rebuild's or a cluster node's reading of the log).
    pub scans: u64,
    /// Time in them.
    pub scan_time: Duration,
    /// Events they returned.
    pub scanned: u64,
    /// Lead directory `get` calls.
    pub gets: u64,
    /// Time in them.
    pub get_time: Duration,
}

impl Snapshot {
    /// What happened between `before` and `self`.
    pub fn since(&self, before: &Snapshot) -> Snapshot {
        Snapshot {
            appends: self.appends - before.appends,
            append_time: self.append_time.saturating_sub(before.append_time),
            appended: self.appended - before.appended,
            reads: self.reads - before.reads,
            read_time: self.read_time.saturating_sub(before.read_time),
            scans: self.scans - before.scans,
            scan_time: self.scan_time.saturating_sub(before.scan_time),
            scanned: self.scanned - before.scanned,
            gets: self.gets - before.gets,
            get_time: self.get_time.saturating_sub(before.get_time),
        }
    }

    /// A short account of where `wall` went.
    pub fn describe(&self, wall: Duration) -> String {
        let pct = |d: Duration| 100.0 * d.as_secs_f64() / wall.as_secs_f64().max(1e-9);
        let avg = |d: Duration, n: u64| d.as_secs_f64() * 1e3 / n.max(1) as f64;
        format!(
            "appends {} ({:.2} ms each, {:.0} % of wall), profile reads {} ({:.2} ms each, {:.0} %), log reads {}",
            self.appends,
            avg(self.append_time, self.appends),
            pct(self.append_time),
            self.gets,
            avg(self.get_time, self.gets),
            pct(self.get_time),
            self.reads
        )
    }
}

impl Stats {
    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            appends: l(&self.appends),
            append_time: Duration::from_nanos(l(&self.append_ns)),
            appended: l(&self.appended),
            reads: l(&self.reads),
            read_time: Duration::from_nanos(l(&self.read_ns)),
            scans: l(&self.scans),
            scan_time: Duration::from_nanos(l(&self.scan_ns)),
            scanned: l(&self.scanned),
            gets: l(&self.gets),
            get_time: Duration::from_nanos(l(&self.get_ns)),
        }
    }
}

fn add(counter: &AtomicU64, time: &AtomicU64, since: Instant) {
    counter.fetch_add(1, Ordering::Relaxed);
    time.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

/// An [`EventLog`] that times the one it wraps.
pub struct TimedLog {
    inner: Arc<dyn EventLog>,
    stats: Arc<Stats>,
}

impl TimedLog {
    /// Wraps `inner`, counting into `stats`.
    pub fn new(inner: Arc<dyn EventLog>, stats: Arc<Stats>) -> Self {
        Self { inner, stats }
    }
}

impl TimedLog {
    fn appended(&self, since: Instant, events: u64) {
        add(&self.stats.appends, &self.stats.append_ns, since);
        self.stats.appended.fetch_add(events, Ordering::Relaxed);
    }

    /// A read in position order (a scan), of `events` events if it succeeded.
    fn scanned(&self, since: Instant, events: Option<usize>) {
        let elapsed = since.elapsed().as_nanos() as u64;
        add(&self.stats.reads, &self.stats.read_ns, since);
        self.stats.scans.fetch_add(1, Ordering::Relaxed);
        self.stats.scan_ns.fetch_add(elapsed, Ordering::Relaxed);
        if let Some(events) = events {
            self.stats
                .scanned
                .fetch_add(events as u64, Ordering::Relaxed);
        }
    }
}

#[async_trait]
impl LogWrapper for TimedLog {
    fn inner(&self) -> &dyn EventLog {
        &*self.inner
    }

    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        let t = Instant::now();
        let n = events.len() as u64;
        let out = self.inner.append(events).await;
        self.appended(t, n);
        out
    }

    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        let t = Instant::now();
        let n = events.len() as u64;
        let out = self.inner.append_if(events, conditions).await;
        self.appended(t, n);
        out
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let t = Instant::now();
        let out = self.inner.read_after(after, limit).await;
        self.scanned(t, out.as_ref().ok().map(Vec::len));
        out
    }

    async fn read_text_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredText>, StoreError> {
        let t = Instant::now();
        let out = self.inner.read_text_after(after, limit).await;
        self.scanned(t, out.as_ref().ok().map(Vec::len));
        out
    }

    async fn load(&self, t_: &str, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let t = Instant::now();
        let out = self.inner.load(t_, id).await;
        add(&self.stats.reads, &self.stats.read_ns, t);
        out
    }

    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError> {
        let t = Instant::now();
        let out = self.inner.sender_actions(account, since).await;
        add(&self.stats.reads, &self.stats.read_ns, t);
        out
    }
}

/// A [`LeadDirectory`] that times the one it wraps.
pub struct TimedDirectory {
    inner: Arc<dyn LeadDirectory>,
    stats: Arc<Stats>,
}

impl TimedDirectory {
    /// Wraps `inner`, counting into `stats`.
    pub fn new(inner: Arc<dyn LeadDirectory>, stats: Arc<Stats>) -> Self {
        Self { inner, stats }
    }
}

#[async_trait]
impl LeadDirectory for TimedDirectory {
    async fn put(&self, w: &WorkspaceId, l: &LeadId, p: LeadProfile) -> Result<(), String> {
        self.inner.put(w, l, p).await
    }

    async fn put_many(
        &self,
        w: &WorkspaceId,
        profiles: Vec<(LeadId, LeadProfile)>,
    ) -> Result<(), String> {
        self.inner.put_many(w, profiles).await
    }

    async fn get(&self, w: &WorkspaceId, l: &LeadId) -> Result<Option<LeadProfile>, String> {
        let t = Instant::now();
        let out = self.inner.get(w, l).await;
        add(&self.stats.gets, &self.stats.get_ns, t);
        out
    }

    /// Forwarded as one read (one query on a SQL store), counted as one profile read.
    async fn get_many(
        &self,
        w: &WorkspaceId,
        leads: &[LeadId],
    ) -> Result<HashMap<LeadId, LeadProfile>, String> {
        let t = Instant::now();
        let out = self.inner.get_many(w, leads).await;
        add(&self.stats.gets, &self.stats.get_ns, t);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plera_actors::store::{Fence, LeaseStore, MemoryEventLog};

    fn event(sequence: u64) -> NewEvent {
        NewEvent {
            aggregate_type: "bench".into(),
            aggregate_id: "a".into(),
            sequence,
            event_type: "Happened".into(),
            event_version: "1".into(),
            payload: serde_json::json!({}),
        }
    }

    #[tokio::test]
    async fn conditional_appends_and_text_reads_reach_the_wrapped_log_and_are_counted() {
        let memory = Arc::new(MemoryEventLog::new());
        let now = chrono::Utc::now();
        let token = memory
            .acquire("sender:s", "n", chrono::Duration::minutes(5), now)
            .await
            .expect("acquire")
            .expect("free");
        let stats = Arc::new(Stats::default());
        let log: Arc<dyn EventLog> = Arc::new(TimedLog::new(memory.clone(), Arc::clone(&stats)));
        let fence = |token| {
            [Condition::Lease(Fence {
                resource: "sender:s".into(),
                owner: "n".into(),
                token,
            })]
        };
        log.append_if(vec![event(1)], &fence(token))
            .await
            .expect("the holder's fenced append is written");
        let stale = log.append_if(vec![event(2)], &fence(token + 1)).await;
        assert!(
            matches!(stale, Err(StoreError::LeaseLost { .. })),
            "the wrapped log checked the fence: {stale:?}"
        );
        let read = log.read_after(0, 10).await.expect("read");
        assert_eq!(read.len(), 1);
        let texts = log.read_text_after(0, 10).await.expect("read as text");
        assert_eq!(texts.len(), 1);
        let s = stats.snapshot();
        assert_eq!((s.appends, s.appended), (2, 2));
        assert_eq!((s.scans, s.scanned), (2, 2));
    }
}
