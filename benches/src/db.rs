//! Databases for one measurement: a SQLite file in a temporary directory, or a PostgreSQL schema of
//! its own (selected with `?options[search_path]=`, as the store's README explains) dropped when
//! the measurement ends. The PostgreSQL database is a dedicated one (`plera_bench` by default), so
//! the append lock, which is per database, is not shared with test suites running beside us.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which database engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A SQLite file (WAL, `synchronous=NORMAL`, as the store opens it).
    Sqlite,
    /// A PostgreSQL schema (server defaults: `synchronous_commit=on`).
    Postgres,
}

impl Kind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// One measurement's database; removed on [`BenchDb::drop_now`] (or left behind on a crash:
/// temporary directories go with the process, schemas are named `plera_bench_*`).
pub struct BenchDb {
    kind: Kind,
    url: String,
    schema: Option<String>,
    pg_base: String,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDb {
    /// A fresh, empty database of `kind`; `pg_base` is the PostgreSQL database's URL.
    pub async fn new(kind: Kind, pg_base: &str) -> Result<Self, String> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("plera-bench-")
                    .tempdir()
                    .map_err(|e| e.to_string())?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Ok(Self {
                    kind,
                    url,
                    schema: None,
                    pg_base: pg_base.into(),
                    _dir: Some(dir),
                })
            }
            Kind::Postgres => {
                ensure_database(pg_base).await?;
                let schema = format!("plera_bench_{}_{n}", std::process::id());
                admin(pg_base, &format!("CREATE SCHEMA {schema}")).await?;
                let mut url = url::Url::parse(pg_base).map_err(|e| e.to_string())?;
                url.query_pairs_mut()
                    .append_pair("options[search_path]", &schema);
                Ok(Self {
                    kind,
                    url: url.to_string(),
                    schema: Some(schema),
                    pg_base: pg_base.into(),
                    _dir: None,
                })
            }
        }
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The URL `open_store` takes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A SQLite pool on the file with the store's settings (WAL, `synchronous=NORMAL`, 5 s busy
    /// timeout) and `connections` connections.
    pub async fn sqlite_pool(&self, connections: u32) -> Result<SqlitePool, String> {
        let options = SqliteConnectOptions::from_str(&self.url)
            .map_err(|e| e.to_string())?
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(30))
            .disable_statement_logging();
        SqlitePoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await
            .map_err(|e| e.to_string())
    }

    /// A PostgreSQL pool on the schema with `connections` connections.
    pub async fn pg_pool(&self, connections: u32) -> Result<PgPool, String> {
        let options = PgConnectOptions::from_str(&self.url)
            .map_err(|e| e.to_string())?
            .disable_statement_logging();
        PgPoolOptions::new()
            .max_connections(connections)
            .connect_with(options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Removes the database (the schema and everything in it; the SQLite file goes with the
    /// directory when `self` drops).
    pub async fn drop_now(self) -> Result<(), String> {
        if let Some(schema) = &self.schema {
            admin(
                &self.pg_base,
                &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            )
            .await?;
        }
        Ok(())
    }
}

/// Runs one statement on the server outside any bench schema.
async fn admin(base: &str, sql: &str) -> Result<(), String> {
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .map_err(|e| format!("PostgreSQL at {base}: {e}"))?;
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .map_err(|e| format!("{sql}: {e}"))?;
    let _ = conn.close().await;
    Ok(())
}

/// Creates the bench database if it is missing (through the maintenance database `postgres`).
async fn ensure_database(base: &str) -> Result<(), String> {
    if sqlx::PgConnection::connect(base).await.is_ok() {
        return Ok(());
    }
    let mut url = url::Url::parse(base).map_err(|e| e.to_string())?;
    let name = url.path().trim_start_matches('/').to_string();
    url.set_path("/postgres");
    let mut conn = sqlx::PgConnection::connect(url.as_str())
        .await
        .map_err(|e| format!("PostgreSQL maintenance database: {e}"))?;
    let created = sqlx::raw_sql(&format!(
        "CREATE DATABASE \"{}\"",
        name.replace('"', "\"\"")
    ))
    .execute(&mut conn)
    .await;
    let _ = conn.close().await;
    match created {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(format!("cannot create database {name}: {e}")),
    }
}
