//! The SQLite WAL copied back into the database file by a connection of its own, off the append
//! path.
//!
//! Left to itself, SQLite checkpoints inside the commit that takes the WAL past
//! `wal_autocheckpoint` pages: that commit copies every page changed since the last checkpoint
//! into the database file and syncs both files, while every append behind it waits. The longer
//! leads' histories, the more distinct pages it copies (BENCHMARKS.md §1, session 8). Here a
//! connection of its own runs a `PASSIVE` checkpoint shortly after appends: it copies what is
//! committed without blocking the writer or any reader. The writer's own checkpoint stays, as
//! the bound on the WAL's size; when its turn comes, most pages are copied already.
//!
//! It also narrows what a power loss can roll back: with `synchronous = NORMAL` the WAL is synced
//! only by checkpoints, so commits older than about [`PAUSE`] are on disk, where the writer's
//! checkpoints alone left up to their whole interval at risk.

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// The least time between two checkpoints. A page appends rewrite again and again (the last index
/// page of a lead or a sender) is copied once per checkpoint, however often it was written in
/// between: checkpoints after every append would copy it every time.
pub(super) const PAUSE: Duration = Duration::from_millis(200);

/// The checkpointing connection and the task that drives it. Dropped (the last clone of the log
/// gone) or closed, the task stops.
pub(super) struct Checkpoints {
    wake: Arc<Notify>,
    task: AbortHandle,
    pool: SqlitePool,
}

impl Checkpoints {
    /// Starts checkpointing with `pool`'s one connection (writable: a checkpoint writes the
    /// database file) on the current runtime.
    pub(super) fn start(pool: SqlitePool) -> Self {
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(pool.clone(), wake.clone())).abort_handle();
        Self { wake, task, pool }
    }

    /// Something was committed: a checkpoint follows, at most [`PAUSE`] after the previous one.
    pub(super) fn appended(&self) {
        self.wake.notify_one();
    }

    /// Stops checkpointing and closes the connection.
    pub(super) async fn close(&self) {
        self.task.abort();
        self.pool.close().await;
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(pool: SqlitePool, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        // A checkpoint that fails or finds another one running (the writer's own) leaves the
        // pages to the next one, or to the writer's: nothing is lost either way.
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::debug!(error = %e, "background WAL checkpoint failed");
        }
        tokio::time::sleep(PAUSE).await;
    }
}
