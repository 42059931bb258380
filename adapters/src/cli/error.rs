//! Every way a `plera` command fails. Each prints as one line (`error: ...`) and exits with 2;
//! a broken invariant is not an error but an outcome (exit 1).

use plera_actors::store::StoreError;
use std::path::PathBuf;
use thiserror::Error;

use plera_projections::queries::ViewError;

use crate::audit::{AuditError, LedgerReadError};
use crate::simulation::SimulationError;
use crate::store::{ExistingError, StoreOpenError};

/// Why a command failed.
#[derive(Debug, Error)]
pub enum CliError {
    /// The database could not be opened (bad URL, unreachable, another application's, newer).
    #[error(transparent)]
    Open(#[from] StoreOpenError),
    /// A command that reads an existing database found none, an empty one, or one it may not
    /// migrate.
    #[error(transparent)]
    Existing(#[from] ExistingError),
    /// A command that reads the log found it empty.
    #[error("the database at {url} holds no events: run `plera simulate` first or check --db")]
    NoEvents {
        /// The URL, password hidden.
        url: String,
    },
    /// `simulate` into a database that already holds events, without `--reset`.
    #[error("the database at {url} already holds events; pass --reset to replace them")]
    NotEmpty {
        /// The URL.
        url: String,
    },
    /// `--reset` could not empty the database.
    #[error("cannot reset the database at {url}: {reason}")]
    Reset {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing the log failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading, catching up or rebuilding the views failed.
    #[error("views: {0}")]
    Views(#[from] ViewError),
    /// The simulation stopped (the partial log was removed where that is possible).
    #[error("simulation failed: {0}")]
    Simulation(#[from] SimulationError),
    /// A ledger file could not be read.
    #[error("cannot read the ledger {}: {source}", path.display())]
    Ledger {
        /// The file.
        path: PathBuf,
        /// Why.
        source: LedgerReadError,
    },
    /// A file could not be written or opened.
    #[error("cannot use {}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing to stdout failed.
    #[error("cannot write the output: {0}")]
    Output(String),
    /// `plera serve` could not start or had to stop.
    #[error(transparent)]
    Serve(#[from] super::serve::ServeError),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(String),
    /// A subcommand or flag that is designed but not built yet.
    #[error("`{what}` is not available yet: {reason}")]
    NotAvailable {
        /// The subcommand or flag.
        what: &'static str,
        /// What it waits for.
        reason: &'static str,
    },
}

impl From<AuditError> for CliError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Store(e) => CliError::Store(e),
            AuditError::Views(e) => CliError::Views(e),
        }
    }
}

impl CliError {
    /// The message on one line, as the CLI prints it (driver errors may span lines).
    pub fn one_line(&self) -> String {
        self.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_fit_on_one_line() {
        let e = CliError::Reset {
            url: "sqlite://x.db".into(),
            reason: "line one\nline two".into(),
        };
        assert_eq!(
            e.one_line(),
            "cannot reset the database at sqlite://x.db: line one line two"
        );
    }
}
