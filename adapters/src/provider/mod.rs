//! The LinkedIn gateway over a provider's REST API (Unipile-style, `linkedin-facts.md`).
//!
//! The API as this client speaks it (and as `sandbox_http` serves it), key in `X-API-KEY`:
//!
//! | call | request | answer |
//! |---|---|---|
//! | invite | `POST /api/v1/users/invite {account_id, provider_id, message?}` | `{object:"UserInvitationSent", invitation_id, usage}` |
//! | pending invites | `GET /api/v1/users/invite/sent?account_id&limit&cursor` | `{items:[{id, invited_user_id, date, idempotency_key}], cursor}` |
//! | message (new or existing 1:1 chat) | `POST /api/v1/chats {account_id, attendees_ids, text}` | `{object:"ChatStarted", chat_id, message_id}` |
//! | message in a chat | `POST /api/v1/chats/{chat_id}/messages {text}` | `{object:"MessageSent", message_id}` |
//! | chats / messages | `GET /api/v1/chats?account_id`, `GET /api/v1/chats/{id}/messages` | pages of `{id, attendee_provider_id}` / `{id, text, is_sender, sender_id, timestamp, idempotency_key}` |
//! | relations | `GET /api/v1/users/relations?account_id` | pages of `{member_id, created_at}` |
//! | account status | `GET /api/v1/accounts/{id}` | `{id, sources:[{status}]}` |
//! | hosted auth | `POST /api/v1/hosted/accounts/link {type, providers, api_url, expiresOn, notify_url, name, reconnect_account?}` | `{object:"HostedAuthURL", url}` |
//!
//! Errors are `{object:"Error", type:"errors/<slug>", status, title, detail}` (see `errors.rs`
//! for the classes). Assumptions, each a place to check against the real provider:
//! - plera's `LeadId` of a LinkedIn lead is the member's provider id (`provider_id`);
//! - every send carries `Idempotency-Key: <step key>` and the provider echoes it as
//!   `idempotency_key` on the sent invitation / message it created. Reconciliation matches on
//!   it; it does not rely on the provider refusing a repeated key (the engine never repeats a
//!   send before reconciling);
//! - an invitation accepted before reconciliation has left the pending list: it reads as "not
//!   sent", the engine retries, and the provider answers `already_connected` (recorded as such,
//!   nothing sent twice).

mod accounts;
mod api;
mod client;
mod config;
mod errors;
mod gateway;
mod keys;
pub mod wire;

pub use accounts::{AccountDirectory, KnownAccount, LogAccounts, MemoryAccounts};
pub use api::{status_signal, AccountStatus, HostedAuthKind, HostedAuthRequest};
pub use client::{HttpLinkedIn, ProviderSetupError};
pub use config::ProviderConfig;
pub use keys::{key_marker, parse_key_marker, sequence_parts};
