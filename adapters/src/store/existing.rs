//! Opening a database that must already be plera's, for commands that read an existing log
//! (`plera audit`, `export`, the views commands): nothing is created, a missing file stays
//! missing, an empty database stays empty, and the schema is only migrated when asked.
//!
//! `open_store` is the wrong tool there: it creates a missing SQLite file and migrates an empty
//! database, so a mistyped `--db` would leave a new, empty plera database behind.

use sqlx::migrate::{Migrate, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Connection;
use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

use super::error::{shown_url, Redactor, StoreOpenError};
use super::{schema, PostgresEventLog, SqliteEventLog, Store};

/// Connections of a reading command.
const CONNECTIONS: u32 = 4;

/// How long a query waits for a connection, or a SQLite reader for another process's writer.
const WAIT: Duration = Duration::from_secs(10);

/// What to do with a plera database an older plera made (migrations of this binary not applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// Refuse it: the command only reads and must change nothing.
    Refuse,
    /// Apply the missing migrations (the command writes plera's own tables, e.g. the views).
    Apply,
}

/// Why an existing database could not be opened.
#[derive(Debug, Error)]
pub enum ExistingError {
    /// Bad URL, unreachable, another application's, newer or modified schema.
    #[error(transparent)]
    Open(#[from] StoreOpenError),
    /// The SQLite file does not exist (it was not created).
    #[error("no database at {url}: run `plera simulate` first or check --db")]
    Missing {
        /// The URL, password hidden.
        url: String,
    },
    /// The database holds no table at all (it was left so).
    #[error("the database at {url} is empty: run `plera simulate` first or check --db")]
    Empty {
        /// The URL, password hidden.
        url: String,
    },
    /// The database was made by an older plera and the command may not migrate it.
    #[error(
        "the database at {url} was made by an older plera (migrations {} not applied); \
         `plera replay` brings it up to date",
        pending.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    )]
    Outdated {
        /// The URL, password hidden.
        url: String,
        /// Versions of the migrations not applied.
        pending: Vec<i64>,
    },
}

/// Opens the plera database at `url` without creating anything: a missing SQLite file, an
/// in-memory database, a database without tables, another application's or a newer plera's are
/// refused untouched. An older plera's is refused or migrated as `pending` says.
pub async fn open_existing_store(url: &str, pending: Pending) -> Result<Store, ExistingError> {
    let shown = shown_url(url);
    if url.starts_with("sqlite:") {
        open_sqlite(url, &shown, pending).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        open_postgres(url, &shown, pending).await
    } else {
        Err(StoreOpenError::BadUrl {
            url: shown,
            reason: "expected sqlite://PATH or postgres://...".into(),
        }
        .into())
    }
}

async fn open_sqlite(url: &str, shown: &str, pending: Pending) -> Result<Store, ExistingError> {
    let redact = Redactor::for_url(url);
    let options = SqliteConnectOptions::from_str(url).map_err(|e| StoreOpenError::BadUrl {
        url: shown.to_string(),
        reason: redact.scrub(e),
    })?;
    if url.contains(":memory:") || url.contains("mode=memory") {
        // A new in-memory database is always empty.
        return Err(ExistingError::Empty {
            url: shown.to_string(),
        });
    }
    if !options.get_filename().exists() {
        return Err(ExistingError::Missing {
            url: shown.to_string(),
        });
    }
    let options = super::sqlite::connect_options(options.create_if_missing(false), WAIT);
    let unreachable = |e: sqlx::Error| StoreOpenError::Unreachable {
        url: shown.to_string(),
        reason: redact.scrub(e),
    };
    let writer = super::sqlite::pool_options()
        .max_connections(1)
        .acquire_timeout(WAIT)
        .connect_with(super::sqlite::writer_options(options.clone()))
        .await
        .map_err(unreachable)?;
    let checked = async {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&writer)
        .await
        .map_err(unreachable)?;
        ours(shown, tables)?;
        let mut conn = writer.acquire().await.map_err(unreachable)?;
        let missing = unapplied(&schema::SQLITE, &mut *conn, shown, &redact).await?;
        drop(conn);
        bring_up_to_date(&schema::SQLITE, &writer, shown, &redact, missing, pending).await
    }
    .await;
    if let Err(e) = checked {
        writer.close().await;
        return Err(e);
    }
    let reader = super::sqlite::pool_options()
        .max_connections(CONNECTIONS)
        .acquire_timeout(WAIT)
        .connect_with(options.read_only(true))
        .await
        .map_err(unreachable)?;
    Ok(Store::Sqlite(SqliteEventLog::from_parts(
        writer, reader, redact,
    )))
}

async fn open_postgres(url: &str, shown: &str, pending: Pending) -> Result<Store, ExistingError> {
    let redact = Redactor::for_url(url);
    let options = PgConnectOptions::from_str(url).map_err(|e| StoreOpenError::BadUrl {
        url: shown.to_string(),
        reason: redact.scrub(e),
    })?;
    let unreachable = |e: sqlx::Error| StoreOpenError::Unreachable {
        url: shown.to_string(),
        reason: redact.scrub(e),
    };
    // A plain connection first: it fails at once where a pool would retry until its timeout.
    let probe = PgConnection::connect_with(&options)
        .await
        .map_err(unreachable)?;
    let _ = probe.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(CONNECTIONS)
        .acquire_timeout(WAIT)
        .connect_with(options)
        .await
        .map_err(unreachable)?;
    let checked = async {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema()",
        )
        .fetch_all(&pool)
        .await
        .map_err(unreachable)?;
        ours(shown, tables)?;
        let mut conn = pool.acquire().await.map_err(unreachable)?;
        let missing = unapplied(&schema::POSTGRES, &mut *conn, shown, &redact).await?;
        drop(conn);
        bring_up_to_date(&schema::POSTGRES, &pool, shown, &redact, missing, pending).await
    }
    .await;
    if let Err(e) = checked {
        pool.close().await;
        return Err(e);
    }
    Ok(Store::Postgres(PostgresEventLog::from_parts(pool, redact)))
}

/// Refuses a database without tables or with another application's.
fn ours(shown: &str, tables: Vec<String>) -> Result<(), ExistingError> {
    if tables.is_empty() {
        return Err(ExistingError::Empty {
            url: shown.to_string(),
        });
    }
    Ok(schema::check_tables(shown, tables)?)
}

/// The versions of `migrator` the database has not applied; refuses a database that applied a
/// version this binary does not know, or a known one with other contents.
async fn unapplied<C: Migrate + ?Sized>(
    migrator: &Migrator,
    conn: &mut C,
    shown: &str,
    redact: &Redactor,
) -> Result<Vec<i64>, ExistingError> {
    let applied = conn
        .list_applied_migrations()
        .await
        .map_err(|e| StoreOpenError::Migration {
            url: shown.to_string(),
            reason: redact.scrub(e),
        })?;
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    for done in &applied {
        match migrator.iter().find(|m| m.version == done.version) {
            None => {
                return Err(StoreOpenError::NewerSchema {
                    url: shown.to_string(),
                    found: done.version,
                    known,
                }
                .into())
            }
            Some(m) if m.checksum != done.checksum => {
                return Err(StoreOpenError::ModifiedSchema {
                    url: shown.to_string(),
                    version: done.version,
                }
                .into())
            }
            Some(_) => {}
        }
    }
    let done: BTreeSet<i64> = applied.iter().map(|m| m.version).collect();
    Ok(migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !done.contains(&m.version))
        .map(|m| m.version)
        .collect())
}

/// Applies the `missing` migrations, or refuses, as `pending` says.
async fn bring_up_to_date<'a, A>(
    migrator: &Migrator,
    conn: A,
    shown: &str,
    redact: &Redactor,
    missing: Vec<i64>,
    pending: Pending,
) -> Result<(), ExistingError>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: Migrate,
{
    match (missing.is_empty(), pending) {
        (true, _) => Ok(()),
        (false, Pending::Refuse) => Err(ExistingError::Outdated {
            url: shown.to_string(),
            pending: missing,
        }),
        (false, Pending::Apply) => Ok(schema::migrate(migrator, conn, shown, redact).await?),
    }
}
