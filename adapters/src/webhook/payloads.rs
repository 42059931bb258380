//! The bodies the provider POSTs (Unipile-style), shared with the sandbox's notifier so that
//! both sides speak one schema. Unknown fields are ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `message_received`: a message in one of the account's chats (ours included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageWebhook {
    /// `"message_received"`.
    #[serde(default)]
    pub event: String,
    /// The provider's id of the account.
    pub account_id: String,
    /// The chat.
    #[serde(default)]
    pub chat_id: Option<String>,
    /// The message id; redeliveries share it.
    pub message_id: String,
    /// The text.
    #[serde(default)]
    pub message: String,
    /// When the provider received it.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Who wrote it.
    pub sender: Attendee,
    /// The account's own member, to recognise our own messages.
    #[serde(default)]
    pub account_info: Option<AccountInfo>,
}

/// A chat member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attendee {
    /// The member's provider id.
    pub attendee_provider_id: String,
}

/// The account's own LinkedIn member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Its member id.
    pub user_id: String,
}

/// `new_relation`: someone accepted an invite (or connected otherwise).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RelationWebhook {
    /// `"new_relation"`.
    #[serde(default)]
    pub event: String,
    /// The provider's id of the account.
    pub account_id: String,
    /// The new connection.
    pub user_provider_id: String,
    /// When the provider saw it.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
}

/// An account-status notification: `{ "AccountStatus": { account_id, message } }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountStatusWebhook {
    /// The notice.
    #[serde(rename = "AccountStatus")]
    pub status: AccountStatusNotice,
}

/// The inside of an account-status notification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountStatusNotice {
    /// The provider's id of the account.
    pub account_id: String,
    /// `LINKEDIN`.
    #[serde(default)]
    pub account_type: Option<String>,
    /// `OK`, `ERROR`, `STOPPED`, `CREDENTIALS`, ...
    pub message: String,
}

/// Hosted-auth completion: `{ status, account_id, name }` (`name` = our state token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostedAuthWebhook {
    /// `CREATION_SUCCESS` or `RECONNECTED` (anything else is not a completion).
    pub status: String,
    /// The provider's id of the connected account.
    pub account_id: String,
    /// The value we chose when asking for the link: the state token.
    pub name: String,
}

/// What a hosted-auth completion answers with (the sandbox reads it to add the account).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostedAuthAnswer {
    /// `connected`, `duplicate` or `ignored`.
    pub status: String,
    /// Our id of the sender, when connected.
    #[serde(default)]
    pub account_id: Option<String>,
}

/// An inbound email (an inbound-parse webhook of the mail provider, or the sandbox's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailWebhook {
    /// Its Message-ID; redeliveries share it.
    pub message_id: String,
    /// `In-Reply-To`: the Message-ID of ours it answers.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// `References`, when `In-Reply-To` is missing.
    #[serde(default)]
    pub references: Option<String>,
    /// The sender's address (informative: the lead comes from the thread).
    #[serde(default)]
    pub from: String,
    /// The text.
    #[serde(default)]
    pub text: String,
    /// When it was received.
    #[serde(default)]
    pub date: Option<DateTime<Utc>>,
}

/// What every other route answers: what the engine did with the notification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// `recorded`, `duplicate`, `no_sequence`, `sender_notified` or `ignored`.
    pub status: String,
    /// Why it was ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
