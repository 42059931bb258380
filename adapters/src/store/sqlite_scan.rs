//! The SQLite log's reads in position order, stepped through SQLite's C API.
//!
//! sqlx runs a SQLite connection on a thread of its own and hands every row of a result to the
//! caller separately: each value copied (`sqlite3_value_dup`, one allocation per cell), each row
//! sent over a channel, the reading task woken for every few rows. A rebuild reads the whole log
//! in position order, and there that hand-off cost more CPU than SQLite's own scan: 6 of a
//! million-event rebuild's 27 core-seconds, against 0.4 s for the scan (BENCHMARKS.md §2,
//! session 11). So a batch is read on a blocking thread with the connection locked out of its
//! sqlx worker ([`sqlx::sqlite::LockedSqliteHandle`], the one way sqlx offers for direct calls):
//! one statement, each row's cells copied once, straight into the record.
//!
//! This is the adapter's only `unsafe` code: it prepares, binds, steps, reads the columns of and
//! finalizes one statement through SQLite's C API, on a handle no other thread uses while it is
//! locked, and finalizes the statement on every path.

use std::ffi::{c_char, c_int, CStr};
use std::ptr::{self, NonNull};

use libsqlite3_sys as ffi;
use plera_actors::store::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::Sqlite;

use super::batch::EventRecord;

/// The rows `sql` selects (the columns of [`EventRecord`], in order, with two integer parameters,
/// `?1` and `?2`: a position and a number of rows), read on `conn` on a blocking thread
/// (stepping a statement is blocking I/O). A failure of SQLite is a [`StoreError::Backend`], a
/// row that breaks the table's shape (a NULL, text not UTF-8) a [`StoreError::Corrupt`].
pub(super) async fn events(
    mut conn: PoolConnection<Sqlite>,
    sql: &'static str,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    tokio::task::spawn_blocking(move || {
        // The worker thread gives the handle up once it is idle: a wait for it, not for I/O.
        let mut locked = futures::executor::block_on(conn.lock_handle())
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut statement = Statement::prepare(locked.as_raw_handle(), sql)?;
        statement.bind(1, after)?;
        statement.bind(2, limit)?;
        let capacity = usize::try_from(limit).unwrap_or(0).min(4096);
        let mut records = Vec::with_capacity(capacity);
        while statement.step()? {
            records.push(statement.record()?);
        }
        Ok(records)
    })
    .await
    .map_err(|e| StoreError::Backend(format!("the read of the log stopped: {e}")))?
}

/// A prepared statement on a locked handle, finalized when dropped.
struct Statement {
    db: NonNull<ffi::sqlite3>,
    raw: NonNull<ffi::sqlite3_stmt>,
}

impl Statement {
    /// Prepares `sql` on `db`, which the caller holds locked for as long as the statement lives.
    fn prepare(db: NonNull<ffi::sqlite3>, sql: &str) -> Result<Self, StoreError> {
        let len = c_int::try_from(sql.len()).map_err(|_| backend("statement too long"))?;
        let mut raw = ptr::null_mut();
        // SAFETY: `db` is an open handle that no other thread uses while it is locked; `sql` is
        // valid for `len` bytes (no NUL terminator is needed when the length is given).
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                db.as_ptr(),
                sql.as_ptr().cast::<c_char>(),
                len,
                &mut raw,
                ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(error_of(db, rc));
        }
        let raw = NonNull::new(raw).ok_or_else(|| backend("an empty statement"))?;
        Ok(Self { db, raw })
    }

    /// Binds an integer to parameter `index` (from 1).
    fn bind(&mut self, index: c_int, value: i64) -> Result<(), StoreError> {
        // SAFETY: the statement is live (finalized only on drop).
        let rc = unsafe { ffi::sqlite3_bind_int64(self.raw.as_ptr(), index, value) };
        if rc != ffi::SQLITE_OK {
            return Err(error_of(self.db, rc));
        }
        Ok(())
    }

    /// Steps to the next row: false when there are no more.
    fn step(&mut self) -> Result<bool, StoreError> {
        // SAFETY: the statement is live.
        match unsafe { ffi::sqlite3_step(self.raw.as_ptr()) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => Err(error_of(self.db, rc)),
        }
    }

    /// The current row as a record.
    fn record(&self) -> Result<EventRecord, StoreError> {
        let position = self.integer(0, 0)?;
        let corrupt = |reason: String| StoreError::Corrupt {
            position: u64::try_from(position).unwrap_or(0),
            reason,
        };
        Ok(EventRecord {
            position,
            aggregate_type: self.text(1).map_err(corrupt)?,
            aggregate_id: self.text(2).map_err(corrupt)?,
            sequence: self.integer(3, position)?,
            event_type: self.text(4).map_err(corrupt)?,
            event_version: self.text(5).map_err(corrupt)?,
            payload: self.text(6).map_err(corrupt)?,
        })
    }

    /// Column `column` of the current row, which must be an integer (`position` names the row
    /// in the error).
    fn integer(&self, column: c_int, position: i64) -> Result<i64, StoreError> {
        // SAFETY: the statement is live and on a row; `column` is one of its columns.
        unsafe {
            if ffi::sqlite3_column_type(self.raw.as_ptr(), column) != ffi::SQLITE_INTEGER {
                return Err(StoreError::Corrupt {
                    position: u64::try_from(position).unwrap_or(0),
                    reason: format!("column {column} is not an integer"),
                });
            }
            Ok(ffi::sqlite3_column_int64(self.raw.as_ptr(), column))
        }
    }

    /// Column `column` of the current row as text, copied; why not if it is NULL or not UTF-8.
    fn text(&self, column: c_int) -> Result<String, String> {
        // SAFETY: the statement is live and on a row. `sqlite3_column_text` is called before
        // `sqlite3_column_bytes` (SQLite's documented order), and the pointer it returns stays
        // valid for `bytes` bytes until the next step, reset or finalize, all of which need
        // `&mut self`.
        let bytes = unsafe {
            let text = ffi::sqlite3_column_text(self.raw.as_ptr(), column);
            if text.is_null() {
                return Err(format!("column {column} is NULL"));
            }
            let len =
                usize::try_from(ffi::sqlite3_column_bytes(self.raw.as_ptr(), column)).unwrap_or(0);
            std::slice::from_raw_parts(text, len)
        };
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| format!("column {column} is not UTF-8: {e}"))
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: the statement is live and finalized exactly once, here.
        unsafe {
            ffi::sqlite3_finalize(self.raw.as_ptr());
        }
    }
}

/// SQLite's error on `db` after a call returned `rc`.
fn error_of(db: NonNull<ffi::sqlite3>, rc: c_int) -> StoreError {
    // SAFETY: `db` is live and locked; `sqlite3_errmsg` returns a NUL-terminated string owned by
    // the handle, copied here before any other call on it.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db.as_ptr());
        if text.is_null() {
            String::new()
        } else {
            CStr::from_ptr(text).to_string_lossy().into_owned()
        }
    };
    StoreError::Backend(format!("sqlite error {rc}: {message}"))
}

/// An error of this module's own making.
fn backend(reason: &str) -> StoreError {
    StoreError::Backend(format!("sqlite: {reason}"))
}
