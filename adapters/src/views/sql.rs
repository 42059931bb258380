//! Statements over any view table, built from its [`Table`] description: bulk upserts and
//! deletes for a batch's changes, and keyed selects for the rows a batch reads. The bulk
//! statements have a few texts per table (and prefix length), whatever the number of rows, so
//! each database parses and plans them once: on PostgreSQL rows and keys travel as arrays
//! (`UNNEST($1::text[], ...)`); on SQLite rows to write are bound cell by cell in a multi-row
//! `VALUES` of a few fixed sizes ([`statements`]), and keys to load as one JSON text
//! (`json_each(?)`).

use std::borrow::Cow;

use plera_projections::queries::ViewError;
use plera_projections::rows::{Column, Key, Kind, Table, Value};

use super::db::{Dialect, Sql};

/// `SELECT <every column> FROM <table>` (no condition yet).
pub(crate) fn select(dialect: Dialect, table: &Table) -> Sql<'static> {
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
pub(crate) fn push_keys(sql: &mut Sql<'_>, table: &Table, keys: &[&Key]) {
    for (i, key) in keys.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { " OR (" });
        for (j, part) in key.iter().enumerate() {
            let column = &table.columns[j];
            if j > 0 {
                sql.push(" AND ");
            }
            sql.push(column.name)
                .push(" = ")
                .bind(column.kind, Cow::Owned(Value::from(part)));
        }
        sql.push(")");
    }
}

/// How many keys of `len` parts one statement may match when they are bound one by one
/// ([`push_keys`]).
pub(crate) fn keys_per_statement(dialect: Dialect, len: usize) -> usize {
    (dialect.max_params() / len.max(1)).max(1)
}

/// How many rows or keys one bulk statement ([`load`]; [`upsert`] and [`delete`] on PostgreSQL)
/// carries. They travel as arrays (PostgreSQL) or one JSON text (SQLite), so no parameter limit
/// applies; this only bounds a statement's size.
pub(crate) const ROWS_PER_STATEMENT: usize = 10_000;

/// Parameters one SQLite statement may bind: the bundled SQLite's `SQLITE_MAX_VARIABLE_NUMBER`
/// (32,766 since 3.32; `Dialect::max_params` keeps to 999 for the `OR` chains of
/// [`push_keys`], which SQLite's expression depth limit bounds anyway).
const SQLITE_PARAMS: usize = 32_766;

/// `items` (rows or keys of `width` cells) cut into the statements of one bulk [`upsert`] or
/// [`delete`]. PostgreSQL binds a statement's rows as one array per column, so only
/// [`ROWS_PER_STATEMENT`] bounds a statement. SQLite binds every cell: a statement carries as
/// many rows as its parameter limit allows, the rest go in statements of a power of 4 rows, so
/// that a table has a handful of statement texts, each prepared once and cached, and no
/// statement holds a row twice.
pub(crate) fn statements<T>(dialect: Dialect, width: usize, items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let n = match dialect {
            Dialect::Postgres => rest.len().min(ROWS_PER_STATEMENT),
            Dialect::Sqlite => {
                let most = (SQLITE_PARAMS / width.max(1)).max(1);
                if rest.len() >= most {
                    most
                } else {
                    std::iter::successors(Some(1usize), |n| Some(n * 4))
                        .take_while(|n| *n <= rest.len())
                        .last()
                        .unwrap_or(1)
                }
            }
        };
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
    }
    out
}

/// The rows of `table` whose first `keys[i].len()` key columns equal one of `keys` (all of one
/// length, at least 1; distinct). One statement text per table and prefix length, whatever the
/// number of keys: PostgreSQL joins `UNNEST` of one array per key column, SQLite joins
/// `json_each` of one JSON array of keys.
pub(crate) fn load(
    dialect: Dialect,
    table: &Table,
    keys: &[&Key],
) -> Result<Sql<'static>, ViewError> {
    let len = keys.first().map_or(0, |k| k.len());
    let columns = &table.columns[..len.min(table.columns.len())];
    let mut sql = Sql::new(dialect);
    sql.push("SELECT ");
    for (i, column) in table.columns.iter().enumerate() {
        sql.push(if i == 0 { "v_." } else { ", v_." })
            .push(column.name);
    }
    sql.push(" FROM ").push(table.name).push(" AS v_ JOIN ");
    push_key_source(
        &mut sql,
        columns,
        keys.iter().map(|k| k.iter().map(Value::from)),
    )?;
    sql.push(" ON ");
    push_key_match(&mut sql, columns);
    Ok(sql)
}

/// `INSERT ... ON CONFLICT (key) DO UPDATE SET ...` for full rows of `table`, all of them in one
/// statement (one text per table and number of rows on SQLite, see [`statements`]; one per
/// table on PostgreSQL); `None` when there are no rows. Every row must have a distinct key (a
/// batch's changes do).
pub(crate) fn upsert<'a>(
    dialect: Dialect,
    table: &Table,
    rows: &[&'a [Value]],
) -> Result<Option<Sql<'a>>, ViewError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut sql = Sql::new(dialect);
    sql.push("INSERT INTO ")
        .push(table.name)
        .push(" (")
        .push(&column_list(table))
        .push(") ");
    match dialect {
        Dialect::Postgres => {
            sql.push("SELECT * FROM UNNEST(");
            for (j, column) in table.columns.iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                let values = rows
                    .iter()
                    .map(|row| row.get(j).map_or(Cow::Owned(Value::Null), Cow::Borrowed))
                    .collect();
                sql.bind_array(column.kind, values)
                    .push("::")
                    .push(pg_array_type(column.kind));
            }
            sql.push(")");
        }
        Dialect::Sqlite => {
            // Cells bound one by one: SQLite reads them as they are, where a JSON text of the
            // rows would be parsed again for every cell taken out of it.
            sql.push("VALUES ");
            push_tuples(
                &mut sql,
                table.columns,
                rows.iter().map(|row| row.iter().map(Cow::Borrowed)),
            );
        }
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
    Ok(Some(sql))
}

/// `DELETE FROM <table>` the rows with one of `keys` (full keys), in one statement (texts as
/// [`upsert`]'s); `None` when there are none.
pub(crate) fn delete(
    dialect: Dialect,
    table: &Table,
    keys: &[&Key],
) -> Result<Option<Sql<'static>>, ViewError> {
    if keys.is_empty() {
        return Ok(None);
    }
    let columns = table.key_columns();
    let mut sql = Sql::new(dialect);
    sql.push("DELETE FROM ").push(table.name).push(" AS v_ ");
    match dialect {
        Dialect::Postgres => {
            sql.push("USING ");
            push_key_source(
                &mut sql,
                columns,
                keys.iter().map(|k| k.iter().map(Value::from)),
            )?;
            sql.push(" WHERE ");
            push_key_match(&mut sql, columns);
        }
        Dialect::Sqlite => {
            sql.push("WHERE (");
            for (j, column) in columns.iter().enumerate() {
                sql.push(if j == 0 { "v_." } else { ", v_." })
                    .push(column.name);
            }
            sql.push(") IN (VALUES ");
            push_tuples(
                &mut sql,
                columns,
                keys.iter()
                    .map(|k| k.iter().map(|part| Cow::Owned(Value::from(part)))),
            );
            sql.push(")");
        }
    }
    Ok(Some(sql))
}

/// The keys as a relation `k_(p0, p1, ...)`: `UNNEST($1::text[], ...)` on PostgreSQL, a select
/// over `json_each(?)` on SQLite.
fn push_key_source<I, K>(sql: &mut Sql<'_>, columns: &[Column], keys: I) -> Result<(), ViewError>
where
    I: Iterator<Item = K> + Clone,
    K: Iterator<Item = Value>,
{
    match sql.dialect() {
        Dialect::Postgres => {
            let mut arrays: Vec<Vec<Cow<'_, Value>>> = vec![Vec::new(); columns.len()];
            for key in keys {
                for (array, value) in arrays.iter_mut().zip(key) {
                    array.push(Cow::Owned(value));
                }
            }
            sql.push("UNNEST(");
            for (j, (column, values)) in columns.iter().zip(arrays).enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.bind_array(column.kind, values)
                    .push("::")
                    .push(pg_array_type(column.kind));
            }
            sql.push(") AS k_(");
            for j in 0..columns.len() {
                sql.push(&format!("{}p{j}", if j == 0 { "" } else { ", " }));
            }
            sql.push(")");
        }
        Dialect::Sqlite => {
            sql.push("(SELECT ");
            for j in 0..columns.len() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.push(&format!("json_extract(value, '$[{j}]') AS p{j}"));
            }
            sql.push(" FROM json_each(")
                .bind_text(&json_rows(keys)?)
                .push(")) AS k_");
        }
    }
    Ok(())
}

/// `v_.c0 = k_.p0 AND v_.c1 = k_.p1 ...`
fn push_key_match(sql: &mut Sql<'_>, columns: &[Column]) {
    for (j, column) in columns.iter().enumerate() {
        if j > 0 {
            sql.push(" AND ");
        }
        sql.push("v_.")
            .push(column.name)
            .push(&format!(" = k_.p{j}"));
    }
}

/// `(?, ?, ...), (?, ...)`: each row's cells bound as `columns`' kinds (a missing cell as NULL).
fn push_tuples<'a, R, C>(sql: &mut Sql<'a>, columns: &[Column], rows: R)
where
    R: Iterator<Item = C>,
    C: Iterator<Item = Cow<'a, Value>>,
{
    for (i, row) in rows.enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        let cells = row.chain(std::iter::repeat(Cow::Owned(Value::Null)));
        for (j, (column, value)) in columns.iter().zip(cells).enumerate() {
            if j > 0 {
                sql.push(", ");
            }
            sql.bind(column.kind, value);
        }
        sql.push(")");
    }
}

/// PostgreSQL's array type of a column kind.
fn pg_array_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "bigint[]",
        Kind::Real => "float8[]",
        Kind::Text => "text[]",
    }
}

/// Rows of values as one JSON array of arrays (`[["ws", 1, null], ...]`). A real that JSON cannot
/// hold (NaN, infinities) is an error rather than a silent NULL.
fn json_rows<I, R>(rows: I) -> Result<String, ViewError>
where
    I: Iterator<Item = R>,
    R: Iterator<Item = Value>,
{
    let mut out: Vec<u8> = vec![b'['];
    for (i, row) in rows.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        for (j, value) in row.enumerate() {
            if j > 0 {
                out.push(b',');
            }
            match value {
                Value::Null => out.extend_from_slice(b"null"),
                Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
                Value::Real(r) => {
                    let n = serde_json::Number::from_f64(r).ok_or_else(|| {
                        ViewError::Corrupt(format!("{r} cannot be written to a view table"))
                    })?;
                    out.extend_from_slice(n.to_string().as_bytes());
                }
                Value::Text(s) => serde_json::to_writer(&mut out, &s)
                    .map_err(|e| ViewError::Corrupt(e.to_string()))?,
            }
        }
        out.push(b']');
    }
    out.push(b']');
    String::from_utf8(out).map_err(|e| ViewError::Corrupt(e.to_string()))
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
    use super::super::db::Param;
    use super::*;
    use plera_projections::inbox::ThreadRow;
    use plera_projections::rows::{KeyPart, Record};

    fn row(table: &Table, text: &str) -> Vec<Value> {
        table
            .columns
            .iter()
            .map(|c| match c.kind {
                Kind::Int => Value::Int(1),
                Kind::Real => Value::Real(0.5),
                Kind::Text => Value::Text(text.into()),
            })
            .collect()
    }

    #[test]
    fn an_upsert_has_one_text_per_table_and_row_count() {
        let table = ThreadRow::table();
        let (a, b, c) = (row(table, "a"), row(table, "b"), row(table, "c"));
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            let three = upsert(dialect, table, &[&a, &b, &c]).unwrap().unwrap();
            let again = upsert(dialect, table, &[&c, &b, &a]).unwrap().unwrap();
            assert_eq!(three.text(), again.text(), "{dialect:?}");
            assert!(three
                .text()
                .starts_with("INSERT INTO inbox_threads (workspace_id, lead_id"));
            assert!(three.text().contains(
                "ON CONFLICT (workspace_id, lead_id, account_id) DO UPDATE SET \
                 campaign_id = excluded.campaign_id"
            ));
            assert!(!three.text().contains("lead_id = excluded"));
            assert!(upsert(dialect, table, &[]).unwrap().is_none());
        }
        // PostgreSQL: one array per column, each holding the rows' cells in order, one text
        // whatever the row count.
        let pg = upsert(Dialect::Postgres, table, &[&a, &b, &c])
            .unwrap()
            .unwrap();
        let one = upsert(Dialect::Postgres, table, &[&a]).unwrap().unwrap();
        assert_eq!(one.text(), pg.text());
        assert_eq!(pg.params().len(), table.columns.len());
        let Param::Array(Kind::Text, first) = &pg.params()[0] else {
            panic!("the first column is bound as a text array");
        };
        assert_eq!(
            first.iter().map(|v| &**v).collect::<Vec<_>>(),
            vec![
                &Value::Text("a".into()),
                &Value::Text("b".into()),
                &Value::Text("c".into())
            ]
        );
        // SQLite: every cell bound, row after row, in a multi-row VALUES.
        let lite = upsert(Dialect::Sqlite, table, &[&a, &b]).unwrap().unwrap();
        let width = table.columns.len();
        assert_eq!(lite.params().len(), 2 * width);
        let tuple = format!("({})", vec!["?"; width].join(", "));
        assert!(lite
            .text()
            .contains(&format!(") VALUES {tuple}, {tuple} ON CONFLICT")));
        let Param::Value(Kind::Text, first) = &lite.params()[width] else {
            panic!("the second row's first cell is bound as text");
        };
        // Borrowed from the row, not copied.
        assert!(matches!(first, Cow::Borrowed(Value::Text(t)) if t == "b"));
    }

    #[test]
    fn sqlite_statements_fill_the_parameter_limit_then_take_powers_of_four() {
        let sizes = |width: usize, n: usize| -> Vec<usize> {
            let items = vec![0u8; n];
            statements(Dialect::Sqlite, width, &items)
                .iter()
                .map(|s| s.len())
                .collect()
        };
        // 35 columns: 936 rows bind 32,760 parameters, the most under 32,766.
        assert_eq!(sizes(35, 936 * 2 + 100), vec![936, 936, 64, 16, 16, 4]);
        assert_eq!(sizes(3, 7), vec![4, 1, 1, 1]);
        assert_eq!(sizes(3, 0), Vec::<usize>::new());
        assert_eq!(sizes(40_000, 2), vec![1, 1]);
        // Every row lands in exactly one statement, in order.
        let items: Vec<usize> = (0..5_000).collect();
        let cut = statements(Dialect::Sqlite, 11, &items);
        assert_eq!(cut.concat(), items);
        assert!(cut.iter().all(|s| s.len() * 11 <= SQLITE_PARAMS));
        // PostgreSQL: arrays, so only the statement size bounds a statement.
        let pg: Vec<usize> = statements(Dialect::Postgres, 35, &vec![0u8; 25_000])
            .iter()
            .map(|s| s.len())
            .collect();
        assert_eq!(pg, vec![10_000, 10_000, 5_000]);
    }

    #[test]
    fn keys_and_prefixes_travel_as_one_parameter_per_column_or_one_json_text() {
        let table = ThreadRow::table();
        let a: Key = vec![KeyPart::from("ws"), KeyPart::from("l1")];
        let b: Key = vec![KeyPart::from("ws"), KeyPart::from("l\"2")];
        let lite = load(Dialect::Sqlite, table, &[&a, &b]).unwrap();
        assert!(lite.text().ends_with(
            "FROM inbox_threads AS v_ JOIN (SELECT json_extract(value, '$[0]') AS p0, \
             json_extract(value, '$[1]') AS p1 FROM json_each(?)) AS k_ \
             ON v_.workspace_id = k_.p0 AND v_.lead_id = k_.p1"
        ));
        let Param::Value(_, json) = &lite.params()[0] else {
            panic!("keys as JSON");
        };
        let Value::Text(json) = &**json else {
            panic!("keys as JSON text");
        };
        assert_eq!(json, r#"[["ws","l1"],["ws","l\"2"]]"#);
        let pg = load(Dialect::Postgres, table, &[&a]).unwrap();
        assert!(pg.text().ends_with(
            "FROM inbox_threads AS v_ JOIN UNNEST($1::text[], $2::text[]) AS k_(p0, p1) \
             ON v_.workspace_id = k_.p0 AND v_.lead_id = k_.p1"
        ));
        let full: Key = vec![
            KeyPart::from("ws"),
            KeyPart::from("l1"),
            KeyPart::from("acc"),
        ];
        let del = delete(Dialect::Sqlite, table, &[&full, &full])
            .unwrap()
            .unwrap();
        assert_eq!(
            del.text(),
            "DELETE FROM inbox_threads AS v_ WHERE (v_.workspace_id, v_.lead_id, v_.account_id) \
             IN (VALUES (?, ?, ?), (?, ?, ?))"
        );
        assert_eq!(del.params().len(), 6);
        let del = delete(Dialect::Postgres, table, &[&full, &full])
            .unwrap()
            .unwrap();
        assert_eq!(del.params().len(), 3);
        assert!(delete(Dialect::Postgres, table, &[]).unwrap().is_none());
        assert_eq!(keys_per_statement(Dialect::Sqlite, 2), 499);
    }

    #[test]
    fn a_real_json_cannot_hold_is_an_error_not_a_null() {
        let rows = [vec![Value::Real(f64::NAN)]];
        assert!(json_rows(rows.iter().map(|r| r.iter().cloned())).is_err());
        let rows = [vec![Value::Real(0.25), Value::Null, Value::Int(-3)]];
        assert_eq!(
            json_rows(rows.iter().map(|r| r.iter().cloned())).unwrap(),
            "[[0.25,null,-3]]"
        );
    }
}
