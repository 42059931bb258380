use chrono::{DateTime, Utc};

use crate::ids::{AccountId, LeadId, ProviderMessageId};
use crate::values::Channel;

/// Something the provider (LinkedIn or a mailbox) told us: the input of `Engine::ingest`.
/// Deliveries can repeat, arrive late or out of order; the engine deduplicates them.
#[derive(Clone, Debug, PartialEq)]
pub enum InboundEvent {
    /// A message from a lead on either channel (a reply or an out-of-office answer: the engine
    /// tells them apart from the text).
    MessageReceived {
        /// The sender account (LinkedIn) whose conversation it landed in, if known.
        account: Option<AccountId>,
        /// Who wrote.
        lead: LeadId,
        /// The channel.
        channel: Channel,
        /// The provider's message id; duplicates share it.
        message_id: ProviderMessageId,
        /// The text.
        text: String,
        /// When the provider received it.
        at: DateTime<Utc>,
    },
    /// A lead accepted a sender's invite (a new relation).
    InviteAccepted {
        /// The sender.
        account: AccountId,
        /// The lead.
        lead: LeadId,
        /// When the provider saw it.
        at: DateTime<Utc>,
    },
    /// The provider reported an account's status.
    AccountStatus {
        /// The sender.
        account: AccountId,
        /// The status.
        status: AccountStatusSignal,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Account statuses a provider reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountStatusSignal {
    /// OK: the account works.
    Ok,
    /// ERROR / STOPPED, or a restriction.
    Restricted,
    /// CREDENTIALS: the session expired; the user must reconnect.
    CredentialsExpired,
}
