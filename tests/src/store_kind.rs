//! Where a test's events live: in memory, in a SQLite file of its own, or in a PostgreSQL schema of
//! its own (`?options[search_path]=` on the URL) that is dropped when the test ends, pass or fail.

use plera_actors::store::{EventLog, MemoryEventLog};
use plera_actors::{LeadDirectory, MemoryLeadDirectory};
use plera_adapters::store::{open_store, Store};
use sqlx::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The event stores the integration suite runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `MemoryEventLog` and `MemoryLeadDirectory`: gone with the process.
    Memory,
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh schema on the PostgreSQL server of `DATABASE_URL` (default: the local `test`
    /// database).
    Postgres,
}

/// The PostgreSQL server the tests use.
pub fn pg_base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

static SCHEMAS: AtomicU64 = AtomicU64::new(0);

/// One test's database, removed when dropped (a Postgres schema with everything in it).
pub struct TestDb {
    kind: StoreKind,
    url: Option<String>,
    /// Kept for its `Drop`, which removes the SQLite file.
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl TestDb {
    /// A fresh, empty place of `kind`.
    pub async fn new(kind: StoreKind) -> Self {
        match kind {
            StoreKind::Memory => Self {
                kind,
                url: None,
                _dir: None,
                schema: None,
            },
            StoreKind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("plera.db").display());
                Self {
                    kind,
                    url: Some(url),
                    _dir: Some(dir),
                    schema: None,
                }
            }
            StoreKind::Postgres => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let schema = format!(
                    "plera_it_{}_{}_{}",
                    std::process::id(),
                    SCHEMAS.fetch_add(1, Ordering::Relaxed),
                    nanos
                );
                pg_admin(&format!("CREATE SCHEMA {schema}")).await;
                let mut url = url::Url::parse(&pg_base_url()).expect("DATABASE_URL is a URL");
                url.query_pairs_mut()
                    .append_pair("options[search_path]", &schema)
                    .append_pair("options[synchronous_commit]", "off");
                Self {
                    kind,
                    url: Some(url.to_string()),
                    _dir: None,
                    schema: Some(schema),
                }
            }
        }
    }

    /// Its kind.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The URL `open_store` takes (`None` in memory).
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// Opens it as a process would: a new connection pool on the same database each time.
    pub async fn open(&self) -> Opened {
        match &self.url {
            None => Opened {
                log: Arc::new(MemoryEventLog::new()),
                directory: Arc::new(MemoryLeadDirectory::default()),
                store: None,
            },
            Some(url) => {
                let store = open_store(url).await.expect("open store");
                Opened {
                    log: store.event_log(),
                    directory: store.lead_directory(),
                    store: Some(store),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Drop may run on a runtime thread (or while a failed test unwinds): a thread with a
        // runtime of its own can wait for the server whatever the caller's runtime is doing.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(pg_admin(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")));
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("could not drop the test schema");
        }
    }
}

/// A database as one engine process sees it.
pub struct Opened {
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// The lead profiles.
    pub directory: Arc<dyn LeadDirectory>,
    /// The SQL store behind them (none in memory).
    pub store: Option<Store>,
}

/// Runs one statement on the Postgres server, outside any test schema. A missing database is
/// created first, so a bare server (a fresh CI machine) is enough.
async fn pg_admin(sql: &str) {
    let base = pg_base_url();
    let mut conn = match sqlx::PgConnection::connect(&base).await {
        Ok(conn) => conn,
        Err(e) if is_missing_database(&e) => {
            create_database(&base).await;
            sqlx::PgConnection::connect(&base)
                .await
                .expect("PostgreSQL database just created")
        }
        Err(e) => {
            panic!("PostgreSQL must be reachable at DATABASE_URL or 127.0.0.1:5432/test: {e}")
        }
    };
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    let _ = conn.close().await;
}

fn is_missing_database(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000"))
}

/// Creates the database `base` names, through the server's maintenance database `postgres`.
async fn create_database(base: &str) {
    let mut url = url::Url::parse(base).expect("DATABASE_URL is a URL");
    let name = url.path().trim_start_matches('/').to_string();
    url.set_path("/postgres");
    let mut conn = sqlx::PgConnection::connect(url.as_str())
        .await
        .expect("PostgreSQL maintenance database");
    let created = sqlx::raw_sql(&format!(
        "CREATE DATABASE \"{}\"",
        name.replace('"', "\"\"")
    ))
    .execute(&mut conn)
    .await;
    // Another test may have created it meanwhile: 42P04 (duplicate database), or 23505 when
    // both creations raced inside the catalog.
    if let Err(e) = created {
        let raced = matches!(&e, sqlx::Error::Database(d)
            if matches!(d.code().as_deref(), Some("42P04") | Some("23505")));
        assert!(raced, "cannot create database {name}: {e}");
    }
    let _ = conn.close().await;
}
