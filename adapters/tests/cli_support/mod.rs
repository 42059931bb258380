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
