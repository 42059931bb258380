//! Making a database plera's: refuse another application's or a newer plera's, migrate our own.

use sqlx::migrate::{Migrate, MigrateError, Migrator};

use super::error::{Redactor, StoreOpenError};

/// SQLite's migrations, embedded at build time.
pub(crate) static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");

/// PostgreSQL's migrations, embedded at build time.
pub(crate) static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The table the first migration creates to mark a database as plera's.
const MARKER: &str = "plera_schema";

/// How many foreign table names an error lists.
const SHOWN_TABLES: usize = 8;

/// Accepts an empty database or one of ours (given its table names), refuses any other: migrating
/// into another application's tables could corrupt them, and their `events` would not be ours.
pub(crate) fn check_tables(url: &str, mut tables: Vec<String>) -> Result<(), StoreOpenError> {
    if tables.is_empty() || tables.iter().any(|t| t == MARKER) {
        return Ok(());
    }
    tables.sort();
    tables.truncate(SHOWN_TABLES);
    Err(StoreOpenError::ForeignSchema {
        url: url.to_string(),
        tables,
    })
}

/// Runs `migrator` and tells a newer or modified schema from a plain failure.
pub(crate) async fn migrate<'a, A>(
    migrator: &Migrator,
    conn: A,
    url: &str,
    redact: &Redactor,
) -> Result<(), StoreOpenError>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: Migrate,
{
    migrator.run(conn).await.map_err(|e| match e {
        MigrateError::VersionMissing(found) => StoreOpenError::NewerSchema {
            url: url.to_string(),
            found,
            known: migrator.iter().map(|m| m.version).max().unwrap_or(0),
        },
        MigrateError::VersionMismatch(version) => StoreOpenError::ModifiedSchema {
            url: url.to_string(),
            version,
        },
        other => StoreOpenError::Migration {
            url: url.to_string(),
            reason: redact.scrub(other),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_own_databases_pass_foreign_ones_do_not() {
        assert!(check_tables("u", vec![]).is_ok());
        assert!(check_tables("u", vec!["events".into(), "plera_schema".into()]).is_ok());
        let Err(StoreOpenError::ForeignSchema { tables, .. }) =
            check_tables("u", vec!["snapshots".into(), "events".into()])
        else {
            panic!("a foreign database must be refused");
        };
        assert_eq!(tables, vec!["events", "snapshots"]);
    }

    #[test]
    fn migrations_are_embedded_for_both_databases() {
        assert!(SQLITE.iter().any(|m| m.version == 1));
        assert!(POSTGRES.iter().any(|m| m.version == 1));
    }
}
