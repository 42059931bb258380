//! Opening the database a command names, and emptying it for `simulate --reset`.

use sqlx::sqlite::SqliteConnectOptions;
use std::path::PathBuf;
use std::str::FromStr;

use super::error::CliError;
use crate::simulation::is_memory_url;
use crate::store::{open_store, Store};

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

/// Opens the database for a command that only reads: a missing SQLite file is an error rather
/// than a new empty database left behind.
pub async fn open_existing(url: &str) -> Result<Store, CliError> {
    if let Some(path) = sqlite_file(url) {
        if !path.exists() {
            return Err(CliError::NoDatabase {
                url: url.to_string(),
            });
        }
    }
    open(url).await
}

/// Whether the log holds any event.
pub async fn has_events(store: &Store) -> Result<bool, CliError> {
    Ok(!store.event_log().read_after(0, 1).await?.is_empty())
}

/// Empties the database `store` was opened on and opens it again: a SQLite file is deleted with
/// its WAL files. `store` was opened successfully, so the file is plera's (another
/// application's database is refused at open and never deleted).
pub async fn reset(url: &str, store: Store) -> Result<Store, CliError> {
    discard(url, store).await?;
    open(url).await
}

/// Closes `store` and deletes what it holds. PostgreSQL is refused: dropping plera's tables
/// belongs to the store module, which does not offer it yet.
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
                                url: url.to_string(),
                                reason: e.to_string(),
                            })
                        }
                    }
                }
            }
            Ok(())
        }
        Store::Postgres(_) => Err(CliError::NotAvailable {
            what: "--reset on PostgreSQL",
            reason: "the store module has no way to drop plera's tables yet; use a fresh database",
        }),
    }
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
