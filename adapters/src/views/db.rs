//! The two databases behind one small interface: statements are built as text with typed
//! parameters ([`Sql`]), run on SQLite or PostgreSQL, and rows come back as plain [`Value`]s.

use std::borrow::Cow;

use plera_projections::queries::ViewError;
use plera_projections::rows::{Kind, Value};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{
    Database, Decode, Encode, PgPool, Postgres, Row, Sqlite, SqlitePool, Transaction, Type,
};

use crate::store::{begin_on_a_task, Store};

/// Which placeholder syntax and limits a statement is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// `?` placeholders; at most 999 of them (SQLite's smallest default limit).
    Sqlite,
    /// `$n` placeholders; at most 65 535.
    Postgres,
}

impl Dialect {
    /// Parameters one statement may bind.
    pub(crate) fn max_params(self) -> usize {
        match self {
            Dialect::Sqlite => 999,
            Dialect::Postgres => 65_535,
        }
    }
}

/// One parameter of a statement, with its column kind (so that a NULL is bound with the type
/// PostgreSQL expects). Cells of the rows a statement writes are borrowed: a rebuild's flush
/// binds hundreds of thousands of them.
pub(crate) enum Param<'a> {
    /// One value.
    Value(Kind, Cow<'a, Value>),
    /// A PostgreSQL array of one column's values (`$n::text[]`, `$n::bigint[]`, ...).
    Array(Kind, Vec<Cow<'a, Value>>),
}

/// A statement under construction: text and its parameters (some borrowed for `'a`).
pub(crate) struct Sql<'a> {
    dialect: Dialect,
    text: String,
    params: Vec<Param<'a>>,
}

impl<'a> Sql<'a> {
    /// An empty statement.
    pub(crate) fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            text: String::new(),
            params: Vec::new(),
        }
    }

    /// Appends text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(crate) fn bind(&mut self, kind: Kind, value: Cow<'a, Value>) -> &mut Self {
        self.param(Param::Value(kind, value))
    }

    /// Appends a placeholder bound to an array of `kind` values (PostgreSQL only: binding one on
    /// SQLite is an error when the statement runs). The caller writes the cast (`::text[]`).
    pub(crate) fn bind_array(&mut self, kind: Kind, values: Vec<Cow<'a, Value>>) -> &mut Self {
        self.param(Param::Array(kind, values))
    }

    fn param(&mut self, param: Param<'a>) -> &mut Self {
        self.params.push(param);
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.params.len().to_string());
            }
        }
        self
    }

    /// Appends a text placeholder.
    pub(crate) fn bind_text(&mut self, text: &str) -> &mut Self {
        self.bind(Kind::Text, Cow::Owned(Value::Text(text.to_owned())))
    }

    /// Appends an integer placeholder.
    pub(crate) fn bind_int(&mut self, n: i64) -> &mut Self {
        self.bind(Kind::Int, Cow::Owned(Value::Int(n)))
    }

    /// The statement's text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The dialect it is built for.
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Its parameters, in order.
    #[cfg(test)]
    pub(crate) fn params(&self) -> &[Param<'a>] {
        &self.params
    }
}

/// The view tables' database: SQLite (writes on the event log's one writer connection, so they
/// queue with appends) or PostgreSQL.
#[derive(Clone)]
pub(crate) enum Db {
    /// SQLite.
    Sqlite {
        /// The store's writer pool (one connection).
        writer: SqlitePool,
        /// Its read-only pool.
        reader: SqlitePool,
    },
    /// PostgreSQL.
    Postgres(PgPool),
}

/// An open write transaction.
pub(crate) enum Tx {
    /// On SQLite (`BEGIN IMMEDIATE`: the write lock is taken at once, never upgraded mid-way).
    Sqlite(Transaction<'static, Sqlite>),
    /// On PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl Db {
    /// The database of `store`.
    pub(crate) fn of(store: &Store) -> Self {
        match store {
            Store::Sqlite(log) => Db::Sqlite {
                writer: log.writer().clone(),
                reader: log.reader().clone(),
            },
            Store::Postgres(log) => Db::Postgres(log.pool().clone()),
        }
    }

    /// The statement dialect.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite { .. } => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a query outside any transaction; `kinds` are the result columns' kinds.
    pub(crate) async fn fetch(
        &self,
        sql: &Sql<'_>,
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Value>>, ViewError> {
        match self {
            Db::Sqlite { reader, .. } => fetch_sqlite(reader, sql, kinds).await,
            Db::Postgres(pool) => fetch_pg(pool, sql, kinds).await,
        }
    }

    /// Opens a write transaction, on a task of its own ([`begin_on_a_task`]): a cancelled
    /// catch-up or rebuild must not leave its connection in the pool half begun.
    pub(crate) async fn begin(&self) -> Result<Tx, ViewError> {
        let task = |e| ViewError::Storage(format!("beginning a transaction: {e}"));
        match self {
            Db::Sqlite { writer, .. } => Ok(Tx::Sqlite(
                begin_on_a_task(writer, "BEGIN IMMEDIATE")
                    .await
                    .map_err(task)?
                    .map_err(storage)?,
            )),
            Db::Postgres(pool) => Ok(Tx::Postgres(
                begin_on_a_task(pool, "BEGIN")
                    .await
                    .map_err(task)?
                    .map_err(storage)?,
            )),
        }
    }
}

impl Tx {
    /// Runs a statement; returns the rows it affected.
    pub(crate) async fn exec(&mut self, sql: &Sql<'_>) -> Result<u64, ViewError> {
        match self {
            Tx::Sqlite(tx) => Ok(bind_sqlite(sqlx::query(sql.text()), &sql.params)?
                .execute(&mut **tx)
                .await
                .map_err(storage)?
                .rows_affected()),
            Tx::Postgres(tx) => Ok(bind_pg(sqlx::query(sql.text()), &sql.params)?
                .execute(&mut **tx)
                .await
                .map_err(storage)?
                .rows_affected()),
        }
    }

    /// Runs a query inside the transaction (it sees the transaction's own writes and, on SQLite,
    /// nobody else's meanwhile); `kinds` are the result columns' kinds.
    pub(crate) async fn fetch(
        &mut self,
        sql: &Sql<'_>,
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Value>>, ViewError> {
        match self {
            Tx::Sqlite(tx) => fetch_sqlite(&mut **tx, sql, kinds).await,
            Tx::Postgres(tx) => fetch_pg(&mut **tx, sql, kinds).await,
        }
    }

    /// Commits.
    pub(crate) async fn commit(self) -> Result<(), ViewError> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await.map_err(storage),
            Tx::Postgres(tx) => tx.commit().await.map_err(storage),
        }
    }

    /// Rolls back (dropping a transaction rolls it back too; this says so).
    pub(crate) async fn rollback(self) -> Result<(), ViewError> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await.map_err(storage),
            Tx::Postgres(tx) => tx.rollback().await.map_err(storage),
        }
    }
}

/// A database failure as a view error.
pub(crate) fn storage(e: sqlx::Error) -> ViewError {
    ViewError::Storage(e.to_string())
}

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// Binds one value; text is lent to the query, not copied (the statement outlives its run).
fn bind_value<'q, DB>(
    query: Query<'q, DB>,
    kind: Kind,
    value: &'q Value,
) -> Result<Query<'q, DB>, ViewError>
where
    DB: Database,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<f64>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    Ok(match (kind, value) {
        (Kind::Int, Value::Int(i)) => query.bind(Some(*i)),
        (Kind::Int, Value::Null) => query.bind(None::<i64>),
        (Kind::Real, Value::Real(r)) => query.bind(Some(*r)),
        (Kind::Real, Value::Null) => query.bind(None::<f64>),
        (Kind::Text, Value::Text(s)) => query.bind(Some(s.as_str())),
        (Kind::Text, Value::Null) => query.bind(None::<&str>),
        (kind, value) => return Err(mismatch(kind, value)),
    })
}

fn mismatch(kind: Kind, value: &Value) -> ViewError {
    ViewError::Corrupt(format!("a {value:?} bound to a {kind:?} column"))
}

fn bind_sqlite<'q>(
    mut query: Query<'q, Sqlite>,
    params: &'q [Param<'_>],
) -> Result<Query<'q, Sqlite>, ViewError> {
    for param in params {
        query = match param {
            Param::Value(kind, value) => bind_value(query, *kind, value)?,
            Param::Array(..) => {
                return Err(ViewError::Storage(
                    "an array parameter bound on SQLite".into(),
                ))
            }
        };
    }
    Ok(query)
}

fn bind_pg<'q>(
    mut query: Query<'q, Postgres>,
    params: &'q [Param<'_>],
) -> Result<Query<'q, Postgres>, ViewError> {
    for param in params {
        query = match param {
            Param::Value(kind, value) => bind_value(query, *kind, value)?,
            Param::Array(Kind::Int, values) => query.bind(
                values
                    .iter()
                    .map(|v| match &**v {
                        Value::Int(i) => Ok(Some(*i)),
                        Value::Null => Ok(None),
                        other => Err(mismatch(Kind::Int, other)),
                    })
                    .collect::<Result<Vec<Option<i64>>, _>>()?,
            ),
            Param::Array(Kind::Real, values) => query.bind(
                values
                    .iter()
                    .map(|v| match &**v {
                        Value::Real(r) => Ok(Some(*r)),
                        Value::Null => Ok(None),
                        other => Err(mismatch(Kind::Real, other)),
                    })
                    .collect::<Result<Vec<Option<f64>>, _>>()?,
            ),
            Param::Array(Kind::Text, values) => query.bind(
                values
                    .iter()
                    .map(|v| match &**v {
                        Value::Text(s) => Ok(Some(s.as_str())),
                        Value::Null => Ok(None),
                        other => Err(mismatch(Kind::Text, other)),
                    })
                    .collect::<Result<Vec<Option<&str>>, _>>()?,
            ),
        };
    }
    Ok(query)
}

/// Runs a query on SQLite, on a pool or inside a transaction ([`Db::fetch`], [`Tx::fetch`]).
async fn fetch_sqlite<'c, E>(
    executor: E,
    sql: &Sql<'_>,
    kinds: &[Kind],
) -> Result<Vec<Vec<Value>>, ViewError>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    let rows = bind_sqlite(sqlx::query(sql.text()), &sql.params)?
        .fetch_all(executor)
        .await
        .map_err(storage)?;
    rows.iter().map(|r| decode_sqlite(r, kinds)).collect()
}

/// Runs a query on PostgreSQL, on a pool or inside a transaction ([`Db::fetch`], [`Tx::fetch`]).
async fn fetch_pg<'c, E>(
    executor: E,
    sql: &Sql<'_>,
    kinds: &[Kind],
) -> Result<Vec<Vec<Value>>, ViewError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    let rows = bind_pg(sqlx::query(sql.text()), &sql.params)?
        .fetch_all(executor)
        .await
        .map_err(storage)?;
    rows.iter().map(|r| decode_pg(r, kinds)).collect()
}

fn decode_sqlite(row: &SqliteRow, kinds: &[Kind]) -> Result<Vec<Value>, ViewError> {
    decode(row, kinds)
}

fn decode_pg(row: &PgRow, kinds: &[Kind]) -> Result<Vec<Value>, ViewError> {
    decode(row, kinds)
}

fn decode<'r, R>(row: &'r R, kinds: &[Kind]) -> Result<Vec<Value>, ViewError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let value = match kind {
                Kind::Int => row.try_get::<Option<i64>, _>(i).map(|v| v.map(Value::Int)),
                Kind::Real => row.try_get::<Option<f64>, _>(i).map(|v| v.map(Value::Real)),
                Kind::Text => row
                    .try_get::<Option<String>, _>(i)
                    .map(|v| v.map(Value::Text)),
            };
            value
                .map(|v| v.unwrap_or(Value::Null))
                .map_err(|e| ViewError::Corrupt(e.to_string()))
        })
        .collect()
}
