//! Why a store would not open, and keeping the URL's password out of every message.

use percent_encoding::percent_decode_str;
use plera_actors::store::StoreError;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use thiserror::Error;

/// Why [`open_store`](super::open_store) refused or failed. URLs in it have their password
/// replaced by `***`.
#[derive(Debug, Error)]
pub enum StoreOpenError {
    /// The URL names no database plera can use.
    #[error("unsupported database URL {url}: {reason}")]
    BadUrl {
        /// The URL, password hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database could not be reached or opened.
    #[error("cannot open the database at {url}: {reason}")]
    Unreachable {
        /// The URL, password hidden.
        url: String,
        /// The driver's reason, password hidden.
        reason: String,
    },
    /// The database holds tables that are not plera's.
    #[error(
        "the database at {url} holds tables of another application ({}); plera needs an empty database or its own",
        tables.join(", ")
    )]
    ForeignSchema {
        /// The URL, password hidden.
        url: String,
        /// Some of the tables found.
        tables: Vec<String>,
    },
    /// The database was migrated by a newer plera.
    #[error(
        "the database at {url} has schema version {found}, newer than this plera knows ({known}); use a newer plera"
    )]
    NewerSchema {
        /// The URL, password hidden.
        url: String,
        /// The unknown version found.
        found: i64,
        /// The latest version this binary knows.
        known: i64,
    },
    /// A migration recorded in the database differs from this binary's.
    #[error("migration {version} recorded in the database at {url} differs from this plera's")]
    ModifiedSchema {
        /// The URL, password hidden.
        url: String,
        /// The migration's version.
        version: i64,
    },
    /// Migrating failed.
    #[error("cannot migrate the database at {url}: {reason}")]
    Migration {
        /// The URL, password hidden.
        url: String,
        /// The driver's reason, password hidden.
        reason: String,
    },
}

/// Removes a URL's password from messages: driver errors are passed on as text, and none may
/// carry the credential.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// The password as written in the URL and percent-decoded.
    secrets: Vec<SecretString>,
}

impl Redactor {
    /// The redactor for `url`'s password, if it has one.
    pub(crate) fn for_url(url: &str) -> Self {
        let password = url::Url::parse(url)
            .ok()
            .and_then(|u| u.password().map(str::to_string))
            .unwrap_or_default();
        let decoded = percent_decode_str(&password)
            .decode_utf8_lossy()
            .into_owned();
        let mut secrets: Vec<String> = vec![password, decoded];
        secrets.retain(|s| !s.is_empty());
        secrets.dedup();
        Self {
            secrets: secrets.into_iter().map(SecretString::from).collect(),
        }
    }

    /// `text` with every occurrence of the password replaced by `***`.
    pub(crate) fn scrub(&self, text: impl fmt::Display) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            text = text.replace(secret.expose_secret(), "***");
        }
        text
    }

    /// A database failure as the port reports it.
    pub(crate) fn backend(&self, error: impl fmt::Display) -> StoreError {
        StoreError::Backend(self.scrub(error))
    }
}

/// `url` fit to show: its password replaced by `***`.
pub(crate) fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, and this one has one.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // Unparsable: it may still hold a password after `:` and before `@`; show no credentials.
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://***@{}", &url[..scheme], &url[at + 1..])
            }
            _ => url.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_survives_scrubbing_raw_or_decoded() {
        let url = "postgres://plera:p%40ss%2Fw0rd@db.example:5432/plera";
        let redactor = Redactor::for_url(url);
        assert_eq!(
            redactor.scrub("auth failed for p@ss/w0rd (p%40ss%2Fw0rd)"),
            "auth failed for *** (***)"
        );
        let StoreError::Backend(message) = redactor.backend("bad p@ss/w0rd") else {
            panic!("backend error expected");
        };
        assert!(!message.contains("p@ss/w0rd"));
    }

    #[test]
    fn shown_urls_hide_the_password_only() {
        assert_eq!(
            shown_url("postgres://plera:secret@db.example:5432/plera"),
            "postgres://plera:***@db.example:5432/plera"
        );
        assert_eq!(shown_url("sqlite://plera.db"), "sqlite://plera.db");
        assert!(!shown_url("postgres://u:sec ret@[bad/x").contains("sec ret"));
    }

    #[test]
    fn a_url_without_password_scrubs_nothing() {
        let redactor = Redactor::for_url("postgres://plera@db/plera");
        assert_eq!(redactor.scrub("plera failed"), "plera failed");
    }
}
