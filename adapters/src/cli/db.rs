//! Opening the database a command names, and emptying it for `simulate --reset`.
//!
//! Commands that write (`simulate`) create and migrate; commands that only read (`audit`,
//! `export`) open an existing plera database and change nothing; the views commands open an
//! existing one too, but may bring an older plera's schema up to date since they write the views.

use sqlx::sqlite::SqliteConnectOptions;
use std::path::PathBuf;
use std::str::FromStr;

use super::error::CliError;
use crate::simulation::is_memory_url;
use crate::store::{open_existing_store, open_store, Pending, Store};

/// The file behind a `sqlite:` URL (none for an in-memory database or another scheme).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") || is_memory_url(url) {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// Opens (creating and migrating when needed) the database for a command that writes.
pub async fn open(url: &str) -> Result<Store, CliError> {
    Ok(open_store(url).await?)
}

/// Opens the database for a command that only reads the log: a missing, empty (no tables or no
/// events), foreign or outdated database is an error, and nothing is created or migrated.
pub async fn open_existing(url: &str) -> Result<Store, CliError> {
    let store = open_existing_store(url, Pending::Refuse).await?;
    if !has_events(&store).await? {
        store.close().await;
        return Err(CliError::NoEvents {
            url: crate::store::shown_url(url),
        });
    }
    Ok(store)
}

/// Opens the database for a views command: it must exist and be plera's; an older plera's schema
/// is migrated (the views' tables may be missing).
pub async fn open_for_views(url: &str) -> Result<Store, CliError> {
    Ok(open_existing_store(url, Pending::Apply).await?)
}

/// Whether the log holds any event.
pub async fn has_events(store: &Store) -> Result<bool, CliError> {
    Ok(!store.event_log().read_after(0, 1).await?.is_empty())
}

/// Empties the database `store` was opened on and opens it again: a SQLite file is deleted with
/// its WAL files; on PostgreSQL plera's tables are dropped and created again. `store` was
/// opened successfully, so the database is plera's (another application's is refused at open
/// and never touched).
pub async fn reset(url: &str, store: Store) -> Result<Store, CliError> {
    if let Store::Postgres(_) = store {
        emptied(url, store.reset().await)?;
        return Ok(store);
    }
    discard(url, store).await?;
    open(url).await
}

/// Closes `store` and deletes what it holds: a SQLite file with its WAL files, plera's tables
/// on PostgreSQL (they are created again, empty: the schema stays plera's).
pub async fn discard(url: &str, store: Store) -> Result<(), CliError> {
    match store {
        Store::Sqlite(_) => {
            store.close().await;
            if let Some(path) = sqlite_file(url) {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut name = path.clone().into_os_string();
                    name.push(suffix);
                    match std::fs::remove_file(&name) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(CliError::Reset {
                                url: crate::store::shown_url(url),
                                reason: e.to_string(),
                            })
                        }
                    }
                }
            }
            Ok(())
        }
        Store::Postgres(_) => {
            // A fresh connection: after an engine crash the simulation reopened the store, and
            // `store` may be the first, closed, pool.
            store.close().await;
            let fresh = open(url).await?;
            let result = fresh.reset().await;
            fresh.close().await;
            emptied(url, result)
        }
    }
}

fn emptied(url: &str, result: Result<(), plera_actors::store::StoreError>) -> Result<(), CliError> {
    result.map_err(|e| CliError::Reset {
        url: crate::store::shown_url(url),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://plera.db"),
            Some(PathBuf::from("plera.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///tmp/x/plera.db"),
            Some(PathBuf::from("/tmp/x/plera.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
