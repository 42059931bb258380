//! Statements over any view table, built from its [`Table`] description: multi-row upserts and
//! deletes for a batch's changes, and keyed selects for the rows a batch reads.

use plera_projections::rows::{Key, Kind, Table, Value};

use super::db::{Dialect, Sql};

/// `SELECT <every column> FROM <table>` (no condition yet).
pub(crate) fn select(dialect: Dialect, table: &Table) -> Sql {
    let mut sql = Sql::new(dialect);
    sql.push("SELECT ")
        .push(&column_list(table))
        .push(" FROM ")
        .push(table.name);
    sql
}

/// The kinds of a table's columns, in order (to decode its rows).
pub(crate) fn kinds(table: &Table) -> Vec<Kind> {
    table.columns.iter().map(|c| c.kind).collect()
}

/// Appends `(k1 = ? AND k2 = ?) OR (...)` matching any of `keys` (or prefixes of keys, all of
/// one length) on the table's leading key columns.
pub(crate) fn push_keys(sql: &mut Sql, table: &Table, keys: &[&Key]) {
    for (i, key) in keys.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { " OR (" });
        for (j, part) in key.iter().enumerate() {
            let column = &table.columns[j];
            if j > 0 {
                sql.push(" AND ");
            }
            sql.push(column.name)
                .push(" = ")
                .bind(column.kind, Value::from(part));
        }
        sql.push(")");
    }
}

/// How many keys of `len` parts one statement may match.
pub(crate) fn keys_per_statement(dialect: Dialect, len: usize) -> usize {
    (dialect.max_params() / len.max(1)).max(1)
}

/// `INSERT ... ON CONFLICT (key) DO UPDATE SET ...` for full rows of `table`; `None` when there
/// are no rows. Every row must have a distinct key (a batch's changes do).
pub(crate) fn upsert(dialect: Dialect, table: &Table, rows: &[&Vec<Value>]) -> Option<Sql> {
    if rows.is_empty() {
        return None;
    }
    let mut sql = Sql::new(dialect);
    sql.push("INSERT INTO ")
        .push(table.name)
        .push(" (")
        .push(&column_list(table))
        .push(") VALUES ");
    for (i, row) in rows.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        for (j, (column, value)) in table.columns.iter().zip(row.iter()).enumerate() {
            if j > 0 {
                sql.push(", ");
            }
            sql.bind(column.kind, value.clone());
        }
        sql.push(")");
    }
    let key: Vec<&str> = table.key_columns().iter().map(|c| c.name).collect();
    sql.push(" ON CONFLICT (").push(&key.join(", ")).push(")");
    let rest: Vec<String> = table.columns[table.key..]
        .iter()
        .map(|c| format!("{0} = excluded.{0}", c.name))
        .collect();
    if rest.is_empty() {
        sql.push(" DO NOTHING");
    } else {
        sql.push(" DO UPDATE SET ").push(&rest.join(", "));
    }
    Some(sql)
}

/// How many full rows of `table` one upsert may carry.
pub(crate) fn rows_per_statement(dialect: Dialect, table: &Table) -> usize {
    (dialect.max_params() / table.columns.len().max(1)).max(1)
}

/// `DELETE FROM <table> WHERE <key> IN keys`; `None` when there are none.
pub(crate) fn delete(dialect: Dialect, table: &Table, keys: &[&Key]) -> Option<Sql> {
    if keys.is_empty() {
        return None;
    }
    let mut sql = Sql::new(dialect);
    sql.push("DELETE FROM ").push(table.name).push(" WHERE ");
    push_keys(&mut sql, table, keys);
    Some(sql)
}

/// `ORDER BY` the table's key columns.
pub(crate) fn order_by_key(table: &Table) -> String {
    let key: Vec<&str> = table.key_columns().iter().map(|c| c.name).collect();
    format!(" ORDER BY {}", key.join(", "))
}

fn column_list(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use plera_projections::inbox::ThreadRow;
    use plera_projections::rows::{KeyPart, Record};

    #[test]
    fn an_upsert_binds_every_cell_and_updates_every_non_key_column() {
        let table = ThreadRow::table();
        let row: Vec<Value> = table
            .columns
            .iter()
            .map(|c| match c.kind {
                Kind::Int => Value::Int(1),
                _ => Value::Text("x".into()),
            })
            .collect();
        let sql = upsert(Dialect::Postgres, table, &[&row, &row]).unwrap();
        let n = table.columns.len();
        assert!(sql
            .text()
            .starts_with("INSERT INTO inbox_threads (workspace_id, lead_id"));
        assert!(sql.text().contains(&format!("${}", 2 * n)));
        assert!(!sql.text().contains(&format!("${}", 2 * n + 1)));
        assert!(sql
            .text()
            .contains("ON CONFLICT (workspace_id, lead_id, account_id) DO UPDATE SET campaign_id = excluded.campaign_id"));
        assert!(!sql.text().contains("lead_id = excluded"));
    }

    #[test]
    fn keys_and_prefixes_become_or_ed_conditions() {
        let table = ThreadRow::table();
        let a: Key = vec![KeyPart::from("ws"), KeyPart::from("l1")];
        let b: Key = vec![KeyPart::from("ws"), KeyPart::from("l2")];
        let sql = delete(Dialect::Sqlite, table, &[&a, &b]).unwrap();
        assert_eq!(
            sql.text(),
            "DELETE FROM inbox_threads WHERE (workspace_id = ? AND lead_id = ?) OR \
             (workspace_id = ? AND lead_id = ?)"
        );
        assert_eq!(keys_per_statement(Dialect::Sqlite, 2), 499);
        assert!(upsert(Dialect::Sqlite, table, &[]).is_none());
    }
}
