//! Every way a `plera.toml` can be wrong. Each prints as one line naming the file or the field,
//! and never a secret's value (only the name of the variable that should hold it).

use std::path::PathBuf;
use thiserror::Error;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not TOML, or not the expected shape (unknown key, wrong type, missing key).
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Line of the problem (1-based; 0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A required setting is absent.
    #[error("{field} is required")]
    Missing {
        /// The setting.
        field: String,
    },
    /// A secret was given both in the file and through an environment variable.
    #[error("{field}: give either the value or the name of its environment variable, not both")]
    Ambiguous {
        /// The setting.
        field: String,
    },
    /// The environment variable that should hold a secret is unset or empty.
    #[error("{field}: the environment variable {var} is not set")]
    EnvUnset {
        /// The setting.
        field: String,
        /// The variable.
        var: String,
    },
    /// A value that cannot be used.
    #[error("{field}: {reason}")]
    Invalid {
        /// The setting.
        field: String,
        /// Why.
        reason: String,
    },
    /// Two entries with one id.
    #[error("{what} `{id}` is defined twice")]
    Duplicate {
        /// Sender, mailbox or campaign.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// A campaign names a sender or mailbox the file does not define.
    #[error("campaign `{campaign}` uses {what} `{id}`, which is not defined")]
    Unknown {
        /// The campaign.
        campaign: String,
        /// Sender or mailbox.
        what: &'static str,
        /// The name used.
        id: String,
    },
    /// A play file could not be read or is not a valid play.
    #[error("campaign `{campaign}`: play {}: {reason}", path.display())]
    Play {
        /// The campaign.
        campaign: String,
        /// The play file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A leads file could not be read or has a bad row.
    #[error("leads {}:{line}: {reason}", path.display())]
    Leads {
        /// The file.
        path: PathBuf,
        /// Line of the problem (1-based; 0 for the whole file).
        line: usize,
        /// Why.
        reason: String,
    },
}

impl ConfigError {
    /// The message on one line (a reason quoted from a library may span lines).
    pub fn one_line(&self) -> String {
        self.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}
