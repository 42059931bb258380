//! Running the `plera` binary in the CLI tests, and the small simulation they share.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The flags of the small simulation the tests use: a few seconds in a debug build.
pub const SMALL: &[&str] = &["--days", "5", "--leads", "150", "--accounts", "3"];

/// What one run of the binary gave.
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// Asserts a failure reported on exactly one line of stderr, starting with `error:`, and
    /// nothing on stdout; returns that line.
    pub fn one_line_failure(&self) -> String {
        assert_eq!(self.code, Some(2), "exit code; stderr: {}", self.stderr);
        assert_eq!(self.stdout, "", "stdout of a failure");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line expected: {:?}", self.stderr);
        assert!(lines[0].starts_with("error:"), "{}", lines[0]);
        lines[0].to_string()
    }
}

/// Runs `plera` with `args` (logs off, so stderr holds only what the CLI prints).
pub fn plera(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_plera"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the plera binary runs");
    Run {
        code: status.code(),
        stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
    }
}

/// `sqlite://PATH` for a file.
pub fn url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Runs `plera simulate` with `extra` flags into a new database at `path`; panics unless it
/// succeeds.
pub fn simulate(path: &Path, extra: &[&str]) -> Run {
    let db = url(path);
    let mut args = vec!["simulate", "--db", db.as_str()];
    args.extend_from_slice(extra);
    let run = plera(&args);
    assert_eq!(run.code, Some(0), "simulate failed: {}", run.stderr);
    run
}

/// The database's log as `plera export` writes it.
pub fn export(path: &Path, format: &str) -> String {
    let db = url(path);
    let run = plera(&["export", "--db", &db, "--format", format]);
    assert_eq!(run.code, Some(0), "export failed: {}", run.stderr);
    run.stdout
}

/// A directory for this test binary's files under cargo's target/tmp, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `plera <cmd> --json --db URL` and returns its stdout; panics unless it succeeds with
/// nothing but one JSON document on stdout.
pub fn json_of(db: &str, cmd: &[&str]) -> String {
    let mut args = cmd.to_vec();
    args.extend_from_slice(&["--json", "--db", db]);
    let run = plera(&args);
    assert_eq!(run.code, Some(0), "{args:?} failed: {}", run.stderr);
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "one JSON document: {}",
        run.stdout
    );
    let _ = run.json();
    run.stdout
}

/// A tokio runtime for the few async steps of the CLI tests (raw SQL, schema set-up).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Runs raw SQL on a SQLite file, as someone editing the database behind plera's back.
pub fn sqlite_exec(path: &Path, sql: &str) {
    block_on(async {
        use sqlx::sqlite::SqliteConnectOptions;
        use sqlx::{ConnectOptions, Connection};
        let mut conn = SqliteConnectOptions::new()
            .filename(path)
            .connect()
            .await
            .expect("open the SQLite file");
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
        conn.close().await.expect("close");
    });
}

/// The PostgreSQL server the tests use.
pub fn pg_base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Runs SQL on the PostgreSQL server outside any test schema (the database is created when
/// missing, so a bare server is enough).
pub async fn pg_admin(sql: &str) {
    use sqlx::Connection;
    let base = pg_base_url();
    let mut conn = match sqlx::PgConnection::connect(&base).await {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let mut url = url::Url::parse(&base).expect("DATABASE_URL is a URL");
            let name = url.path().trim_start_matches('/').replace('"', "\"\"");
            url.set_path("/postgres");
            let mut admin = sqlx::PgConnection::connect(url.as_str())
                .await
                .expect("PostgreSQL maintenance database");
            // A concurrent test may win the race: 42P04 or 23505 then.
            if let Err(e) = sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
            {
                let raced = matches!(&e, sqlx::Error::Database(d)
                    if matches!(d.code().as_deref(), Some("42P04") | Some("23505")));
                assert!(raced, "cannot create database {name}: {e}");
            }
            let _ = admin.close().await;
            sqlx::PgConnection::connect(&base)
                .await
                .expect("database just created")
        }
        other => {
            other.expect("PostgreSQL must be reachable at DATABASE_URL or 127.0.0.1:5432/test")
        }
    };
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    let _ = conn.close().await;
}

/// A PostgreSQL schema of its own for one test, dropped when the value is (pass or fail).
pub struct PgSchema {
    /// The schema's name.
    pub name: String,
}

impl PgSchema {
    /// Creates a fresh, empty schema.
    pub fn new(prefix: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "plera_{prefix}_{}_{}_{nanos}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        block_on(pg_admin(&format!("CREATE SCHEMA {name}")));
        Self { name }
    }

    /// The URL of a database working in this schema.
    pub fn url(&self) -> String {
        let mut url = url::Url::parse(&pg_base_url()).expect("DATABASE_URL is a URL");
        url.query_pairs_mut()
            .append_pair("options[search_path]", &self.name);
        url.to_string()
    }

    /// The schema's tables, sorted.
    pub fn tables(&self) -> Vec<String> {
        let name = self.name.clone();
        block_on(async move {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&pg_base_url())
                .await
                .expect("PostgreSQL");
            let mut tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
            )
            .bind(&name)
            .fetch_all(&mut conn)
            .await
            .expect("list tables");
            let _ = conn.close().await;
            tables.sort();
            tables
        })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop runs during a panic too: a failure here must not abort the test binary.
        let _ = std::thread::spawn(move || block_on(pg_admin(&sql))).join();
    }
}
