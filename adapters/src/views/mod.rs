//! The views in SQL tables (SQLite or PostgreSQL, beside the event log): the catch-up runner that
//! keeps them current from the log, `rebuild` from position 0, and the read queries dashboards,
//! the CLI and the engine use. The folds themselves are `plera-projections`' pure code; this module
//! is the only one that touches their storage.
//!
//! Tables and columns are documented in `migrations/*/0002_views.sql`; the record of the indexes
//! a rebuild dropped (`indexes`) in `0004_views_deferred_indexes.sql`.

mod db;
mod indexes;
mod queries;
mod rebuild;
mod runner;
mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use plera_actors::store::{EventLog, LeaseStore};
use plera_domain::ids::{AccountId, CampaignId, WorkspaceId};
use plera_domain::ports::Clock;
use plera_projections::queries::{
    Funnel, FunnelDay, InboxFilter, SenderHealth, Thread, ViewCount, ViewError, ViewQueries,
    WarningView,
};
use plera_projections::rows::{Table, Value};
use plera_projections::{all_views, Projection};
use tokio::sync::Mutex;

use crate::store::Store;
use db::Db;
use runner::Runner;
pub use runner::{envelope, stored};

/// Events per batch: large enough that a rebuild is a few hundred round trips for a million
/// events, small enough that a batch's transaction stays short beside a live engine.
pub const DEFAULT_BATCH: usize = 2_000;

/// The SQL views of one store. Cheap to clone; clones share one runner lock, so catch-ups of one
/// process never race each other (other processes are held off by the checkpoints' compare-and-set).
#[derive(Clone)]
pub struct Views {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    log: Arc<dyn EventLog>,
    /// Shared (not boxed) so that a rebuild can fold each view on a thread of its own.
    views: Vec<Arc<dyn Projection>>,
    batch: usize,
    running: Mutex<()>,
    leases: std::sync::OnceLock<ViewLeases>,
}

/// With several engine processes on one database: each view is kept by the one process holding
/// its lease (`projection:<name>`), so projections run once across the cluster; the others
/// only read the view tables. Should the holder die, its leases lapse and another process
/// carries on from the view's checkpoint (which makes a batch apply exactly once anyway).
#[derive(Clone)]
pub struct ViewLeases {
    /// This process's lease name.
    pub node: String,
    /// The lease table.
    pub leases: Arc<dyn LeaseStore>,
    /// The clock lease times are read on (the engine's).
    pub clock: Arc<dyn Clock>,
    /// How long a view's lease lasts unrenewed (each catch-up renews it).
    pub ttl: chrono::Duration,
}

impl Views {
    /// Every view of `store` (inbox, senders, funnel).
    pub fn new(store: &Store) -> Self {
        Self::with_batch(store, DEFAULT_BATCH)
    }

    /// Every view, reading the log `batch` events at a time.
    pub fn with_batch(store: &Store, batch: usize) -> Self {
        Self::with_projections(store, all_views(), batch)
    }

    /// Other projections (their tables must exist), reading the log `batch` events at a time.
    pub fn with_projections(store: &Store, views: Vec<Box<dyn Projection>>, batch: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                db: Db::of(store),
                log: store.event_log(),
                views: views.into_iter().map(Arc::from).collect(),
                batch: batch.max(1),
                running: Mutex::new(()),
                leases: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The views' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.inner.views.iter().map(|v| v.name()).collect()
    }

    /// Every view table.
    pub fn tables(&self) -> Vec<&'static Table> {
        self.inner.views.iter().flat_map(|v| v.tables()).collect()
    }

    /// Applies the log beyond every view's checkpoint (of the views this process keeps, under
    /// [`ViewLeases`]). Returns the position reached; 0 when another process keeps every view.
    pub async fn catch_up_all(&self) -> Result<u64, ViewError> {
        let views = self.held(self.all()).await?;
        if views.is_empty() {
            // Every view is kept by another process.
            return Ok(0);
        }
        self.run(&views, &mut |_, _| {}).await
    }

    /// From now on, keep only the views whose lease this process holds (see [`ViewLeases`]).
    /// Set once; later calls change nothing.
    pub fn hold_leases(&self, leases: ViewLeases) {
        let _ = self.inner.leases.set(leases);
    }

    /// Of `views`, those this process keeps: all of them without leases, else those whose
    /// lease it holds or just took.
    async fn held<'a>(
        &self,
        views: Vec<&'a dyn Projection>,
    ) -> Result<Vec<&'a dyn Projection>, ViewError> {
        let Some(l) = self.inner.leases.get() else {
            return Ok(views);
        };
        let now = l.clock.now();
        let mut held = Vec::new();
        for view in views {
            let resource = format!("projection:{}", view.name());
            let token = l
                .leases
                .acquire(&resource, &l.node, l.ttl, now)
                .await
                .map_err(|e| ViewError::Storage(e.to_string()))?;
            if token.is_some() {
                held.push(view);
            }
        }
        Ok(held)
    }

    /// Applies the log beyond one view's checkpoint.
    pub async fn catch_up(&self, name: &str) -> Result<u64, ViewError> {
        let view = self.view(name)?;
        self.run(&[view], &mut |_, _| {}).await
    }

    /// Empties one view and replays the whole log into it; `progress(done, total)` follows each
    /// batch (positions).
    pub async fn rebuild(
        &self,
        name: &str,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<ViewCount, ViewError> {
        let view = self
            .inner
            .views
            .iter()
            .find(|v| v.name() == name)
            .cloned()
            .ok_or_else(|| ViewError::UnknownView(name.to_string()))?;
        self.rebuild_views(&[view], &mut progress).await?;
        let counts = self.counts().await?;
        counts
            .into_iter()
            .find(|c| c.view == name)
            .ok_or_else(|| ViewError::UnknownView(name.to_string()))
    }

    /// Empties every view and replays the whole log into all of them at once (the log is read
    /// once); `progress(done, total)` follows each batch.
    pub async fn rebuild_all(
        &self,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<Vec<ViewCount>, ViewError> {
        let views = self.inner.views.clone();
        self.rebuild_views(&views, &mut progress).await?;
        self.counts().await
    }

    /// Every row of a view table in key order, for exports and comparisons.
    pub async fn dump(&self, table: &str) -> Result<Vec<Vec<Value>>, ViewError> {
        let table = self
            .tables()
            .into_iter()
            .find(|t| t.name == table)
            .ok_or_else(|| ViewError::UnknownView(table.to_string()))?;
        let mut query = sql::select(self.inner.db.dialect(), table);
        query.push(&sql::order_by_key(table));
        self.inner.db.fetch(&query, &sql::kinds(table)).await
    }

    fn all(&self) -> Vec<&dyn Projection> {
        self.inner.views.iter().map(|v| v.as_ref()).collect()
    }

    fn view(&self, name: &str) -> Result<&dyn Projection, ViewError> {
        self.inner
            .views
            .iter()
            .map(|v| v.as_ref())
            .find(|v| v.name() == name)
            .ok_or_else(|| ViewError::UnknownView(name.to_string()))
    }

    fn runner(&self) -> Runner<'_> {
        Runner {
            db: &self.inner.db,
            log: self.inner.log.as_ref(),
            batch: self.inner.batch,
        }
    }

    async fn run(
        &self,
        views: &[&dyn Projection],
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<u64, ViewError> {
        let _running = self.inner.running.lock().await;
        self.runner().run(views, progress).await
    }

    /// Empties `views` and replays the log into them, holding the runner lock throughout (the
    /// rebuild keeps the rows in memory: nothing else of this process may write them meanwhile).
    /// Their secondary indexes are dropped for the replay and built at its end ([`indexes`]).
    async fn rebuild_views(
        &self,
        views: &[Arc<dyn Projection>],
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<u64, ViewError> {
        let _running = self.inner.running.lock().await;
        let runner = self.runner();
        let borrowed: Vec<&dyn Projection> = views.iter().map(|v| v.as_ref()).collect();
        runner.prepare(&borrowed).await?;
        runner.reset(&borrowed).await?;
        runner.defer_indexes(&borrowed).await?;
        let rebuilt = runner.rebuild(views, progress).await;
        // Built even after a failed replay, whose rows stand as of the last flush; should the
        // database be what failed, the next runner's `prepare` builds them.
        let restored = runner.restore_indexes(&borrowed).await;
        let at = rebuilt?;
        restored.map(|()| at)
    }
}

#[async_trait]
impl ViewQueries for Views {
    async fn refresh(&self) -> Result<(), ViewError> {
        self.catch_up_all().await.map(|_| ())
    }

    async fn inbox(&self, filter: &InboxFilter) -> Result<Vec<Thread>, ViewError> {
        queries::inbox(&self.inner.db, filter).await
    }

    async fn senders(
        &self,
        workspace: Option<&WorkspaceId>,
    ) -> Result<Vec<SenderHealth>, ViewError> {
        queries::senders(&self.inner.db, workspace).await
    }

    async fn sender_warnings(
        &self,
        account: &AccountId,
        limit: usize,
    ) -> Result<Vec<WarningView>, ViewError> {
        queries::sender_warnings(&self.inner.db, account, limit).await
    }

    async fn funnel(
        &self,
        workspace: Option<&WorkspaceId>,
        campaign: Option<&CampaignId>,
    ) -> Result<Vec<Funnel>, ViewError> {
        queries::funnel(&self.inner.db, workspace, campaign).await
    }

    async fn funnel_days(&self, campaign: &CampaignId) -> Result<Vec<FunnelDay>, ViewError> {
        queries::funnel_days(&self.inner.db, campaign).await
    }

    async fn counts(&self) -> Result<Vec<ViewCount>, ViewError> {
        let views = self.all();
        let stored = self.runner().checkpoints(&views).await?;
        let mut out = Vec::new();
        for view in views {
            out.push(ViewCount {
                view: view.name().to_string(),
                position: stored.get(view.name()).map_or(0, |c| c.position),
                rows: queries::row_counts(&self.inner.db, &view.tables()).await?,
            });
        }
        Ok(out)
    }
}

impl Views {
    /// Checkpoint and row counts of every view (`plera replay --json`).
    pub async fn counts(&self) -> Result<Vec<ViewCount>, ViewError> {
        ViewQueries::counts(self).await
    }
}
