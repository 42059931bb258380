//! The provider's JSON bodies, shared by the client (`HttpLinkedIn`) and the sandbox server that
//! imitates the provider, so that both sides speak one schema.
//!
//! Unknown fields are ignored and optional ones default, because a provider adds fields over time
//! and a client that refuses them breaks on a harmless change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Header carrying the API key.
pub const API_KEY_HEADER: &str = "X-API-KEY";

/// Header carrying our idempotency marker (the step key); see the module docs of `provider`.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// `{ object: "Error", type: "errors/<slug>", status, title, detail }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `"Error"`.
    pub object: String,
    /// `errors/<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status repeated.
    #[serde(default)]
    pub status: Option<u16>,
    /// A short title.
    #[serde(default)]
    pub title: Option<String>,
    /// The provider's explanation (tells the two meanings of `cannot_resend_yet` apart).
    #[serde(default)]
    pub detail: Option<String>,
}

/// Body of `POST /api/v1/users/invite`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InviteBody {
    /// The provider's id of the sending account.
    pub account_id: String,
    /// The LinkedIn member to invite.
    pub provider_id: String,
    /// The note, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Answer of `POST /api/v1/users/invite`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationSent {
    /// `"UserInvitationSent"`.
    pub object: String,
    /// The provider's invitation id.
    pub invitation_id: String,
    /// Share of the provider-side quota used (a fraction, or a percentage when above 1).
    #[serde(default)]
    pub usage: Option<f64>,
}

/// One item of `GET /api/v1/users/invite/sent`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SentInvitation {
    /// The invitation id.
    pub id: String,
    /// The invited member.
    pub invited_user_id: String,
    /// When it was sent.
    #[serde(default)]
    pub date: Option<DateTime<Utc>>,
    /// The `Idempotency-Key` the invite was sent with, echoed (our assumption about the provider).
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// A page of a listing: `{ object, items, cursor }`; `cursor` is absent on the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The list's type name.
    #[serde(default)]
    pub object: String,
    /// The items of this page.
    pub items: Vec<T>,
    /// Where the next page starts.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Body of `POST /api/v1/chats`: starts (or continues) a 1:1 chat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartChatBody {
    /// The provider's id of the sending account.
    pub account_id: String,
    /// The members to write to (one, for us).
    pub attendees_ids: Vec<String>,
    /// The text.
    pub text: String,
}

/// Body of `POST /api/v1/chats/{chat_id}/messages`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessageBody {
    /// The text.
    pub text: String,
}

/// Answer of the two message calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageSent {
    /// `"ChatStarted"` or `"MessageSent"`.
    pub object: String,
    /// The chat it went to.
    #[serde(default)]
    pub chat_id: Option<String>,
    /// The new message's id.
    #[serde(default)]
    pub message_id: Option<String>,
}

/// One item of `GET /api/v1/chats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    /// The chat id.
    pub id: String,
    /// The other member of a 1:1 chat.
    #[serde(default)]
    pub attendee_provider_id: Option<String>,
    /// When the last message was written.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
}

/// One item of `GET /api/v1/chats/{chat_id}/messages`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The message id (inbound duplicates share it).
    pub id: String,
    /// The chat.
    #[serde(default)]
    pub chat_id: Option<String>,
    /// The text.
    #[serde(default)]
    pub text: String,
    /// Whether the account itself wrote it (never a reply).
    #[serde(default)]
    pub is_sender: bool,
    /// The member who wrote it.
    #[serde(default)]
    pub sender_id: Option<String>,
    /// When.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    /// The `Idempotency-Key` a message we sent carried, echoed.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// One item of `GET /api/v1/users/relations`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// The connected member.
    pub member_id: String,
    /// When the connection was made, when the provider says.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/accounts/{id}`: the account with its sources' statuses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountBody {
    /// `"Account"`.
    #[serde(default)]
    pub object: String,
    /// The provider's account id.
    pub id: String,
    /// The connections behind the account; the first one's status is the account's.
    #[serde(default)]
    pub sources: Vec<AccountSource>,
}

/// A source of an account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSource {
    /// Its id.
    #[serde(default)]
    pub id: Option<String>,
    /// `OK`, `CONNECTING`, `CREDENTIALS`, `ERROR`, `STOPPED`, ...
    pub status: String,
}

/// Body of `POST /api/v1/hosted/accounts/link`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostedAuthBody {
    /// `create` or `reconnect`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `["LINKEDIN"]`.
    pub providers: Vec<String>,
    /// The API's base URL (the hosted page calls it).
    pub api_url: String,
    /// When the link stops working.
    #[serde(rename = "expiresOn")]
    pub expires_on: DateTime<Utc>,
    /// Where the provider reports the outcome.
    pub notify_url: String,
    /// Our opaque value, handed back on completion (the state token).
    pub name: String,
    /// The provider account to reconnect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect_account: Option<String>,
}

/// Answer of `POST /api/v1/hosted/accounts/link`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostedAuthUrl {
    /// `"HostedAuthURL"`.
    #[serde(default)]
    pub object: String,
    /// The page to send the user to.
    pub url: String,
}
