//! Emptying a plera database in place (`plera simulate --reset` on PostgreSQL, where there is no
//! file to delete): every table plera's migrations create is dropped, with the migration history,
//! and the migrations run again.
//!
//! The tables are found in the embedded migrations themselves, so a later migration's tables are
//! dropped too without anyone keeping a list. Tables of others that share the schema are left
//! alone: plera only drops what it made.

use plera_actors::store::StoreError;
use sqlx::migrate::Migrator;

use super::{schema, Store};

/// The migration history table sqlx keeps (dropped too: the migrations run again from the first).
const HISTORY: &str = "_sqlx_migrations";

impl Store {
    /// Drops every table of plera's schema and migrates again: the database is as a first
    /// `open_store` leaves it (no events, views, profiles or checkpoints). The drops are one
    /// transaction, so a failure leaves the data as it was. Other processes must not be using
    /// the database meanwhile.
    pub async fn reset(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(log) => {
                let redact = log.redactor();
                let mut tx = log
                    .writer()
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(|e| redact.backend(e))?;
                // Children before parents: `sender_actions` references `events`.
                for table in tables(&schema::SQLITE).iter().rev() {
                    sqlx::query(&format!("DROP TABLE IF EXISTS \"{table}\""))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| redact.backend(e))?;
                }
                tx.commit().await.map_err(|e| redact.backend(e))?;
                schema::migrate(&schema::SQLITE, log.writer(), "the database", redact)
                    .await
                    .map_err(|e| StoreError::Backend(e.to_string()))
            }
            Store::Postgres(log) => {
                let redact = log.redactor();
                let list = tables(&schema::POSTGRES)
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut tx = log.pool().begin().await.map_err(|e| redact.backend(e))?;
                // One statement: PostgreSQL orders the drops of the tables it names itself.
                sqlx::query(&format!("DROP TABLE IF EXISTS {list}"))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| redact.backend(e))?;
                tx.commit().await.map_err(|e| redact.backend(e))?;
                schema::migrate(&schema::POSTGRES, log.pool(), "the database", redact)
                    .await
                    .map_err(|e| StoreError::Backend(e.to_string()))
            }
        }
    }
}

/// The tables `migrator` creates, in creation order, then the migration history.
pub(crate) fn tables(migrator: &Migrator) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for migration in migrator.iter() {
        for name in created_tables(&migration.sql) {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out.push(HISTORY.to_string());
    out
}

/// Names following `CREATE TABLE [IF NOT EXISTS]` in `sql` (comments skipped).
fn created_tables(sql: &str) -> Vec<String> {
    let words: Vec<&str> = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .collect();
    let mut out = Vec::new();
    for (i, pair) in words.windows(2).enumerate() {
        if !(pair[0].eq_ignore_ascii_case("create") && pair[1].eq_ignore_ascii_case("table")) {
            continue;
        }
        let mut rest = words[i + 2..].iter();
        let mut name = rest.next();
        if name.is_some_and(|w| w.eq_ignore_ascii_case("if")) {
            // IF NOT EXISTS
            name = rest.nth(2);
        }
        if let Some(name) = name {
            let name = name.split('(').next().unwrap_or("").trim_matches('"');
            if !name.is_empty() {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_tables_are_read_from_the_sql() {
        let sql = "-- CREATE TABLE not_this\nCREATE TABLE a\n(id int);\n\
                   create table if not exists \"b\"(x text);\nCREATE INDEX c ON a (id);";
        assert_eq!(created_tables(sql), vec!["a", "b"]);
    }

    #[test]
    fn both_schemas_name_the_same_tables_but_leases_log_first() {
        let sqlite = tables(&schema::SQLITE);
        // Leases exist on PostgreSQL only: several engine processes share PostgreSQL, never a
        // SQLite file (issue 10). Every other table is the same on both.
        let mut postgres = tables(&schema::POSTGRES);
        let leases = postgres.iter().position(|t| t == "leases");
        assert!(leases.is_some(), "PostgreSQL has leases: {postgres:?}");
        postgres.retain(|t| t != "leases");
        assert_eq!(sqlite, postgres);
        for t in [
            "plera_schema",
            "events",
            "sender_actions",
            "inbox_messages",
            HISTORY,
        ] {
            assert!(sqlite.iter().any(|s| s == t), "{t} in {sqlite:?}");
        }
        let position = |t: &str| sqlite.iter().position(|s| s == t);
        assert!(position("events") < position("sender_actions"));
    }
}
