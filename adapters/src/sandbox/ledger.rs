//! The sandbox's own record of every action it really performed: the ground truth that the
//! simulation's audit holds the engine's event log against ("no side effect happens twice").

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use plera_domain::ids::{AccountId, LeadId, MailboxId};
use plera_domain::values::Action;
use serde::{Deserialize, Serialize};

/// One action the sandbox performed (a send refused or deduplicated leaves no entry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// When the sandbox performed it.
    pub at: DateTime<Utc>,
    /// The LinkedIn sender; `null` for an email.
    pub account_id: Option<AccountId>,
    /// The lead it reached.
    pub lead_id: LeadId,
    /// `invite`, `message` or `email`.
    pub action: Action,
    /// The step's idempotency key (`sequence#step`).
    pub key: String,
    /// The invite's note, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The direct message's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The email's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The mailbox an email went out from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxId>,
}

impl LedgerEntry {
    /// The deterministic order of the ledger: by time, then by key and action, so that actions
    /// issued at the same instant in any order read back the same.
    pub(crate) fn order_key(&self) -> (DateTime<Utc>, &str, u8) {
        (self.at, self.key.as_str(), self.action as u8)
    }
}

/// The entries in their deterministic order.
pub(crate) fn sorted(entries: &[LedgerEntry]) -> Vec<LedgerEntry> {
    let mut all = entries.to_vec();
    all.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    all
}

/// Writes `entries` as JSON lines, one entry per line.
pub(crate) fn write_jsonl<W: Write + ?Sized>(
    entries: &[LedgerEntry],
    out: &mut W,
) -> io::Result<()> {
    for entry in entries {
        serde_json::to_writer(&mut *out, entry).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
