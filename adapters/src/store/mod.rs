//! The SQL event stores: SQLite (the default, one file) and PostgreSQL (several processes).
//!
//! Both keep cqrs-es's `events` table shape (sqlite-es / postgres-es 0.5.0 can read it) plus a
//! global `position` in commit order, migrate themselves on open, and refuse a database that is
//! another application's or a newer plera's. Beside the log they keep `sender_actions` (filled by
//! `append` in the same transaction, for quota rebuilds), `lead_profiles` (the lead directory)
//! and `projection_checkpoints`. `README.md` here explains the trade-offs.

mod batch;
mod begin;
mod error;
mod existing;
mod leads;
mod postgres;
mod reset;
mod schema;
mod sqlite;
mod sqlite_checkpoint;
mod sqlite_scan;

pub(crate) use begin::begin_on_a_task;
pub(crate) use error::shown_url;
pub use error::StoreOpenError;
pub use existing::{open_existing_store, ExistingError, Pending};
pub use leads::{PostgresLeadDirectory, SqliteLeadDirectory};
pub use postgres::PostgresEventLog;
pub use sqlite::SqliteEventLog;

use plera_actors::store::EventLog;
use plera_actors::LeadDirectory;
use std::sync::Arc;

/// An opened, migrated event store.
#[derive(Clone)]
pub enum Store {
    /// A SQLite file or in-memory database.
    Sqlite(SqliteEventLog),
    /// A PostgreSQL database.
    Postgres(PostgresEventLog),
}

impl Store {
    /// The store as the runtime's event log port.
    pub fn event_log(&self) -> Arc<dyn EventLog> {
        match self {
            Store::Sqlite(log) => Arc::new(log.clone()),
            Store::Postgres(log) => Arc::new(log.clone()),
        }
    }

    /// The lead profiles kept beside the log (`lead_profiles`), for
    /// [`EngineBuilder::lead_directory`](plera_actors::EngineBuilder::lead_directory).
    pub fn lead_directory(&self) -> Arc<dyn LeadDirectory> {
        match self {
            Store::Sqlite(log) => Arc::new(log.lead_directory()),
            Store::Postgres(log) => Arc::new(log.lead_directory()),
        }
    }

    /// The lease table, where several engine processes can share the store (PostgreSQL).
    pub fn leases(&self) -> Option<Arc<dyn plera_actors::store::LeaseStore>> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(log) => Some(Arc::new(log.clone())),
        }
    }

    /// Closes every connection (a SQLite file is checkpointed); clones stop working too.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(log) => log.close().await,
            Store::Postgres(log) => log.close().await,
        }
    }
}

/// Opens the store at `url` and brings its schema up to date: `sqlite://PATH` (created if
/// missing), `sqlite::memory:`, or `postgres://...` / `postgresql://...`.
pub async fn open_store(url: &str) -> Result<Store, StoreOpenError> {
    let shown = error::shown_url(url);
    if url.starts_with("sqlite:") {
        Ok(Store::Sqlite(SqliteEventLog::open(url, &shown).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Store::Postgres(PostgresEventLog::open(url, &shown).await?))
    } else {
        Err(StoreOpenError::BadUrl {
            url: shown,
            reason: "expected sqlite://PATH, sqlite::memory: or postgres://...".into(),
        })
    }
}
