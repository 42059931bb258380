//! A rebuild's secondary indexes, built once its rows are written.
//!
//! A rebuild writes every row of its views, most of them several times over (each flush writes
//! the rows changed since the last one). With the secondary indexes in place every write is also
//! an entry in each of them, which is most of what a rebuild costs the database: building an
//! index once from the finished table sorts its rows in one pass instead. So a rebuild drops the
//! non-unique indexes of its views' tables (primary keys stay: the upserts need them) and builds
//! them again at its end, from the definitions the database gave when they were dropped.
//!
//! Those definitions are recorded on the view's checkpoint row (`deferred_indexes`, migration
//! 0004) in the transaction that drops the indexes, and cleared in the one that builds them. A
//! rebuild that stops part way (a crash, a cancelled `plera replay`) therefore leaves them on
//! record, and the next runner on the database builds them before it goes on
//! ([`Runner::prepare`]). Meanwhile the views answer every query, only more slowly.

use plera_projections::queries::ViewError;
use plera_projections::rows::{Kind, Value};
use plera_projections::Projection;
use serde::{Deserialize, Serialize};

use super::db::{Dialect, Sql, Tx};
use super::runner::Runner;

/// A secondary index as the database describes it: its name and the statement that creates it.
#[derive(Debug, Serialize, Deserialize)]
struct Index {
    name: String,
    sql: String,
}

impl Runner<'_> {
    /// Drops the non-unique indexes of `views`' tables and records them on each view's
    /// checkpoint row, in one transaction. A view with indexes already on record (which
    /// [`Runner::prepare`] builds first) keeps that record.
    pub(crate) async fn defer_indexes(&self, views: &[&dyn Projection]) -> Result<(), ViewError> {
        let dialect = self.db.dialect();
        let mut tx = self.db.begin().await?;
        for view in views {
            let indexes = secondary_indexes(&mut tx, dialect, *view).await?;
            if indexes.is_empty() {
                continue;
            }
            let record = serde_json::to_string(&indexes)
                .map_err(|e| ViewError::Storage(format!("recording the indexes: {e}")))?;
            let mut sql = Sql::new(dialect);
            sql.push("UPDATE projection_checkpoints SET deferred_indexes = ")
                .bind_text(&record)
                .push(" WHERE name = ")
                .bind_text(view.name())
                .push(" AND deferred_indexes IS NULL");
            if tx.exec(&sql).await? == 0 {
                continue;
            }
            for index in &indexes {
                let mut sql = Sql::new(dialect);
                sql.push("DROP INDEX ")
                    .push(&identifier(dialect, &index.name));
                tx.exec(&sql).await?;
            }
        }
        tx.commit().await
    }

    /// Builds the indexes recorded on `views`' checkpoint rows and clears the records, in one
    /// transaction. Read again inside it, so that two runners building at once build each index
    /// once; an index that exists already (built by hand, say) is left as it is.
    pub(crate) async fn restore_indexes(&self, views: &[&dyn Projection]) -> Result<(), ViewError> {
        let dialect = self.db.dialect();
        let mut tx = self.db.begin().await?;
        for view in views {
            let mut sql = Sql::new(dialect);
            sql.push("SELECT deferred_indexes FROM projection_checkpoints WHERE name = ")
                .bind_text(view.name());
            if dialect == Dialect::Postgres {
                // Another runner building them waits here, then finds the record cleared.
                sql.push(" FOR UPDATE");
            }
            let rows = tx.fetch(&sql, &[Kind::Text]).await?;
            let Some([Value::Text(record)]) = rows.first().map(Vec::as_slice) else {
                continue;
            };
            let recorded: Vec<Index> = serde_json::from_str(record).map_err(|e| {
                ViewError::Corrupt(format!(
                    "the indexes a rebuild of view {} dropped cannot be read from \
                     projection_checkpoints.deferred_indexes ({e}); build them as \
                     migrations/*/0002_views.sql does, then set that column to NULL",
                    view.name()
                ))
            })?;
            let present = secondary_indexes(&mut tx, dialect, *view).await?;
            for index in &recorded {
                if !present.iter().any(|p| p.name == index.name) {
                    let mut sql = Sql::new(dialect);
                    sql.push(&index.sql);
                    tx.exec(&sql).await?;
                }
            }
            let mut sql = Sql::new(dialect);
            sql.push("UPDATE projection_checkpoints SET deferred_indexes = NULL WHERE name = ")
                .bind_text(view.name());
            tx.exec(&sql).await?;
        }
        tx.commit().await
    }
}

/// The non-unique indexes of `view`'s tables, by name, with their creating statements: what a
/// rebuild may drop and build again without changing what the tables accept.
async fn secondary_indexes(
    tx: &mut Tx,
    dialect: Dialect,
    view: &dyn Projection,
) -> Result<Vec<Index>, ViewError> {
    if view.tables().is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(dialect);
    match dialect {
        Dialect::Sqlite => sql.push(
            "SELECT m.name, m.sql FROM sqlite_master AS m \
             WHERE m.type = 'index' AND m.sql IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM pragma_index_list(m.tbl_name) AS l \
                             WHERE l.name = m.name AND l.\"unique\") \
             AND m.tbl_name IN (",
        ),
        // `to_regclass` finds each table as the views' statements do, through the search path;
        // an index's `regclass` text is its name as that path needs it, quoted where it must be.
        // An index that backs a constraint (an exclusion constraint is not unique) is not ours
        // to drop: `DROP INDEX` would refuse it.
        Dialect::Postgres => sql.push(
            "SELECT x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid) \
             FROM pg_index AS x WHERE NOT x.indisunique \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = x.indexrelid) \
             AND x.indrelid IN (",
        ),
    };
    for (n, table) in view.tables().iter().enumerate() {
        if n > 0 {
            sql.push(", ");
        }
        match dialect {
            Dialect::Sqlite => sql.bind_text(table.name),
            Dialect::Postgres => sql
                .push("to_regclass(")
                .bind_text(table.name)
                .push(")::oid"),
        };
    }
    sql.push(") ORDER BY 1");
    let rows = tx.fetch(&sql, &[Kind::Text, Kind::Text]).await?;
    rows.into_iter()
        .map(|row| match <[Value; 2]>::try_from(row) {
            Ok([Value::Text(name), Value::Text(sql)]) => Ok(Index { name, sql }),
            other => Err(ViewError::Corrupt(format!(
                "an index of view {} described as {other:?}",
                view.name()
            ))),
        })
        .collect()
}

/// An index's name as a statement names it: PostgreSQL's is quoted already (see
/// [`secondary_indexes`]), SQLite's is quoted here.
fn identifier(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("\"{}\"", name.replace('"', "\"\"")),
        Dialect::Postgres => name.to_string(),
    }
}
