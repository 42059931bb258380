//! The database's raw rate: one row per transaction (an autocommit `INSERT`) into a table of the
//! `events` shape, from `tasks` concurrent tasks; and reading every row back.

use futures::TryStreamExt;
use sqlx::Row;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db::{BenchDb, Kind};

const SQLITE_TABLE: &str = "
CREATE TABLE raw_events (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence integer NOT NULL, event_type text NOT NULL, event_version text NOT NULL,
  payload text NOT NULL, metadata text NOT NULL, position integer NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)) STRICT;
CREATE UNIQUE INDEX raw_events_position ON raw_events (position);";

const POSTGRES_TABLE: &str = "
CREATE TABLE raw_events (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence bigint NOT NULL, event_type text NOT NULL, event_version text NOT NULL,
  payload json NOT NULL, metadata json NOT NULL, position bigint NOT NULL UNIQUE,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence));";

/// A `StepStarted` as the engine stores it.
const PAYLOAD: &str = r#"{"type":"StepStarted","step":3,"action":"message","account_id":"acc-7","at":"2026-03-12T09:41:07.123Z"}"#;

/// Rows inserted and the wall time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawRun {
    /// Rows committed.
    pub rows: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl RawRun {
    /// Rows (transactions) per second.
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `tasks` tasks each commit `rows` single-row transactions; SQLite uses `connections`
/// connections (1: writers queue on the pool, as the store's writer does; more: they contend for
/// the file lock), PostgreSQL one connection per task.
pub async fn inserts(
    db: &BenchDb,
    tasks: usize,
    rows: usize,
    connections: u32,
) -> Result<RawRun, String> {
    let position = Arc::new(AtomicI64::new(0));
    match db.kind() {
        Kind::Sqlite => {
            let pool = db.sqlite_pool(connections).await?;
            sqlx::raw_sql(SQLITE_TABLE)
                .execute(&pool)
                .await
                .map_err(|e| e.to_string())?;
            let began = Instant::now();
            let mut handles = Vec::new();
            for t in 0..tasks {
                let (pool, position) = (pool.clone(), Arc::clone(&position));
                handles.push(tokio::spawn(async move {
                    let id = format!("ws/bench/lead-{t}");
                    for s in 1..=rows {
                        let p = position.fetch_add(1, Ordering::Relaxed) + 1;
                        sqlx::query(
                            "INSERT INTO raw_events VALUES ('lead_sequence', ?, ?, 'StepStarted', \
                             '1', ?, '{}', ?)",
                        )
                        .bind(&id)
                        .bind(s as i64)
                        .bind(PAYLOAD)
                        .bind(p)
                        .execute(&pool)
                        .await
                        .map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(())
                }));
            }
            for h in handles {
                h.await.map_err(|e| e.to_string())??;
            }
            let elapsed = began.elapsed();
            pool.close().await;
            Ok(RawRun {
                rows: tasks * rows,
                elapsed,
            })
        }
        Kind::Postgres => {
            let pool = db.pg_pool(tasks.max(1) as u32).await?;
            sqlx::raw_sql(POSTGRES_TABLE)
                .execute(&pool)
                .await
                .map_err(|e| e.to_string())?;
            let began = Instant::now();
            let mut handles = Vec::new();
            for t in 0..tasks {
                let (pool, position) = (pool.clone(), Arc::clone(&position));
                handles.push(tokio::spawn(async move {
                    let id = format!("ws/bench/lead-{t}");
                    for s in 1..=rows {
                        let p = position.fetch_add(1, Ordering::Relaxed) + 1;
                        sqlx::query(
                            "INSERT INTO raw_events VALUES ('lead_sequence', $1, $2, \
                             'StepStarted', '1', $3::json, '{}'::json, $4)",
                        )
                        .bind(&id)
                        .bind(s as i64)
                        .bind(PAYLOAD)
                        .bind(p)
                        .execute(&pool)
                        .await
                        .map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(())
                }));
            }
            for h in handles {
                h.await.map_err(|e| e.to_string())??;
            }
            let elapsed = began.elapsed();
            pool.close().await;
            Ok(RawRun {
                rows: tasks * rows,
                elapsed,
            })
        }
    }
}

/// Rows read and the wall time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadRun {
    /// Rows.
    pub rows: usize,
    /// Bytes of payload (or of COPY output).
    pub bytes: usize,
    /// Wall time.
    pub elapsed: Duration,
}

impl ReadRun {
    /// Rows per second.
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Every row of the store's `events` table in position order, streamed through sqlx and decoded
/// into Rust values (strings and integers; the payload stays text).
pub async fn select_all(db: &BenchDb) -> Result<ReadRun, String> {
    let sql_sqlite = "SELECT position, aggregate_type, aggregate_id, sequence, event_type, \
                      event_version, payload FROM events ORDER BY position";
    let sql_pg = "SELECT position, aggregate_type, aggregate_id, sequence, event_type, \
                  event_version, payload::text FROM events ORDER BY position";
    let began = Instant::now();
    let (mut rows, mut bytes) = (0usize, 0usize);
    match db.kind() {
        Kind::Sqlite => {
            let pool = db.sqlite_pool(1).await?;
            let mut stream = sqlx::query(sql_sqlite).fetch(&pool);
            while let Some(row) = stream.try_next().await.map_err(|e| e.to_string())? {
                let _: i64 = row.try_get(0).map_err(|e| e.to_string())?;
                let payload: String = row.try_get(6).map_err(|e| e.to_string())?;
                let id: String = row.try_get(2).map_err(|e| e.to_string())?;
                rows += 1;
                bytes += payload.len() + id.len();
            }
            drop(stream);
            pool.close().await;
        }
        Kind::Postgres => {
            let pool = db.pg_pool(1).await?;
            let mut stream = sqlx::query(sql_pg).fetch(&pool);
            while let Some(row) = stream.try_next().await.map_err(|e| e.to_string())? {
                let _: i64 = row.try_get(0).map_err(|e| e.to_string())?;
                let payload: String = row.try_get(6).map_err(|e| e.to_string())?;
                let id: String = row.try_get(2).map_err(|e| e.to_string())?;
                rows += 1;
                bytes += payload.len() + id.len();
            }
            drop(stream);
            pool.close().await;
        }
    }
    Ok(ReadRun {
        rows,
        bytes,
        elapsed: began.elapsed(),
    })
}

/// The same `SELECT` (plus the aggregate type), each row handed to `each(aggregate_type,
/// aggregate_id, payload)` as it streams by: what a reader that decodes straight from the stored
/// text can do at best. `each` returns how many events it made of the row; `ReadRun::rows` counts
/// rows, `ReadRun::bytes` the events made.
pub async fn select_each(
    db: &BenchDb,
    mut each: impl FnMut(&str, &str, &str) -> Result<usize, String>,
) -> Result<ReadRun, String> {
    let sql_sqlite = "SELECT position, aggregate_type, aggregate_id, sequence, event_type, \
                      event_version, payload FROM events ORDER BY position";
    let sql_pg = "SELECT position, aggregate_type, aggregate_id, sequence, event_type, \
                  event_version, payload::text FROM events ORDER BY position";
    let began = Instant::now();
    let (mut rows, mut events) = (0usize, 0usize);
    match db.kind() {
        Kind::Sqlite => {
            let pool = db.sqlite_pool(1).await?;
            let mut stream = sqlx::query(sql_sqlite).fetch(&pool);
            while let Some(row) = stream.try_next().await.map_err(|e| e.to_string())? {
                let _: i64 = row.try_get(0).map_err(|e| e.to_string())?;
                let kind: &str = row.try_get(1).map_err(|e| e.to_string())?;
                let id: &str = row.try_get(2).map_err(|e| e.to_string())?;
                let payload: &str = row.try_get(6).map_err(|e| e.to_string())?;
                events += each(kind, id, payload)?;
                rows += 1;
            }
            drop(stream);
            pool.close().await;
        }
        Kind::Postgres => {
            let pool = db.pg_pool(1).await?;
            let mut stream = sqlx::query(sql_pg).fetch(&pool);
            while let Some(row) = stream.try_next().await.map_err(|e| e.to_string())? {
                let _: i64 = row.try_get(0).map_err(|e| e.to_string())?;
                let kind: &str = row.try_get(1).map_err(|e| e.to_string())?;
                let id: &str = row.try_get(2).map_err(|e| e.to_string())?;
                let payload: &str = row.try_get(6).map_err(|e| e.to_string())?;
                events += each(kind, id, payload)?;
                rows += 1;
            }
            drop(stream);
            pool.close().await;
        }
    }
    Ok(ReadRun {
        rows,
        bytes: events,
        elapsed: began.elapsed(),
    })
}

/// PostgreSQL's fastest way out: `COPY (SELECT ... ORDER BY position) TO STDOUT`, counting lines.
pub async fn copy_out(db: &BenchDb) -> Result<ReadRun, String> {
    let pool = db.pg_pool(1).await?;
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    let began = Instant::now();
    let mut stream = conn
        .copy_out_raw(
            "COPY (SELECT position, aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload FROM events ORDER BY position) TO STDOUT",
        )
        .await
        .map_err(|e| e.to_string())?;
    let (mut rows, mut bytes) = (0usize, 0usize);
    while let Some(chunk) = stream.try_next().await.map_err(|e| e.to_string())? {
        bytes += chunk.len();
        rows += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let elapsed = began.elapsed();
    drop(stream);
    drop(conn);
    pool.close().await;
    Ok(ReadRun {
        rows,
        bytes,
        elapsed,
    })
}
