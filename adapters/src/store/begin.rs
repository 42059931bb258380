//! Beginning a transaction so that a caller's cancellation cannot leave it half begun.

use sqlx::{Database, Pool, Transaction};
use tokio::task::JoinError;

/// Begins a transaction with `statement` on a task of its own, so that it always finishes.
///
/// sqlx's `begin` dropped half way (a caller's timeout, a cancelled catch-up) can hand its
/// connection back to the pool inside the transaction it began: the next `BEGIN` on it fails,
/// and a lock the transaction took (the PostgreSQL append lock) stays with an idle connection
/// that every other writer then waits on. A transaction begun for a caller that is gone is
/// dropped by the task instead, which rolls it back. The outer error is the task's (a panic, a
/// runtime shutting down), the inner one the database's.
pub(crate) async fn begin_on_a_task<DB: Database>(
    pool: &Pool<DB>,
    statement: &'static str,
) -> Result<Result<Transaction<'static, DB>, sqlx::Error>, JoinError> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin_with(statement).await }).await
}
