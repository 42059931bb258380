//! The provider calls beyond the gateway port: hosted authentication, listings for the poller
//! and for reconciliation, account status.

use chrono::{DateTime, Utc};
use plera_domain::ids::ProviderAccountId;
use plera_domain::ports::{AccountStatusSignal, GatewayError, GatewayErrorKind};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::client::{Call, HttpLinkedIn};
use super::wire::{
    AccountBody, Chat, ChatMessage, HostedAuthBody, HostedAuthUrl, Page, Relation, SentInvitation,
};

/// Connect a new LinkedIn account, or reconnect one whose session expired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostedAuthKind {
    /// A new account.
    Create,
    /// Renew the session of this provider account.
    Reconnect(ProviderAccountId),
}

/// What a hosted-auth link is asked with.
#[derive(Clone, Debug)]
pub struct HostedAuthRequest {
    /// Create or reconnect.
    pub kind: HostedAuthKind,
    /// The engine's state token (`ConnectionLink::state`), sent as `name` and handed back on
    /// completion. It completes a connection, so it is kept secret here too.
    pub state: SecretString,
    /// Where the provider reports completion (our webhook's hosted-auth route).
    pub notify_url: Url,
    /// When the link stops working (`ConnectionLink::expires_at`).
    pub expires_at: DateTime<Utc>,
}

/// An account's status as the provider reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountStatus {
    /// The provider's word (`OK`, `CREDENTIALS`, ...).
    pub raw: String,
    /// What it means for the engine; `None` for a status that says nothing either way.
    pub signal: Option<AccountStatusSignal>,
}

/// Reads a provider status word: `OK` and the "connected again" words mean OK, `CREDENTIALS`
/// an expired session, `ERROR`/`STOPPED`/`PERMISSIONS` a restriction; anything else (e.g.
/// `CONNECTING`) says nothing.
pub fn status_signal(status: &str) -> Option<AccountStatusSignal> {
    match status.trim().to_ascii_uppercase().as_str() {
        "OK" | "RUNNING" | "RECONNECTED" | "CREATION_SUCCESS" | "SYNC_SUCCESS" => {
            Some(AccountStatusSignal::Ok)
        }
        "CREDENTIALS" => Some(AccountStatusSignal::CredentialsExpired),
        "ERROR" | "STOPPED" | "PERMISSIONS" | "RESTRICTED" => Some(AccountStatusSignal::Restricted),
        _ => None,
    }
}

impl HttpLinkedIn {
    /// Asks for a hosted-auth page (`POST /api/v1/hosted/accounts/link`): the URL to send the
    /// user to.
    pub async fn hosted_auth_link(
        &self,
        request: HostedAuthRequest,
    ) -> Result<String, GatewayError> {
        let (kind, reconnect_account) = match &request.kind {
            HostedAuthKind::Create => ("create", None),
            HostedAuthKind::Reconnect(account) => ("reconnect", Some(account.to_string())),
        };
        let body = HostedAuthBody {
            kind: kind.to_string(),
            providers: vec!["LINKEDIN".to_string()],
            api_url: self.config.base_url.to_string(),
            expires_on: request.expires_at,
            notify_url: request.notify_url.to_string(),
            name: request.state.expose_secret().to_string(),
            reconnect_account,
        };
        let link: HostedAuthUrl = self
            .call(Call::post(
                &["api", "v1", "hosted", "accounts", "link"],
                &body,
                "hosted-auth link",
            ))
            .await?;
        Ok(link.url)
    }

    /// One page of the account's pending sent invitations.
    pub async fn sent_invitations(
        &self,
        account: &ProviderAccountId,
        cursor: Option<&str>,
    ) -> Result<Page<SentInvitation>, GatewayError> {
        let call = Call::get(
            &["api", "v1", "users", "invite", "sent"],
            "sent invitations",
        );
        self.call(self.paged(call, Some(account), cursor)).await
    }

    /// One page of the account's relations (1st-degree connections), newest first: the
    /// fallback for acceptance notifications that come late or never.
    pub async fn relations(
        &self,
        account: &ProviderAccountId,
        cursor: Option<&str>,
    ) -> Result<Page<Relation>, GatewayError> {
        let call = Call::get(&["api", "v1", "users", "relations"], "relations");
        self.call(self.paged(call, Some(account), cursor)).await
    }

    /// One page of the account's chats, most recently active first.
    pub async fn chats(
        &self,
        account: &ProviderAccountId,
        cursor: Option<&str>,
    ) -> Result<Page<Chat>, GatewayError> {
        let call = Call::get(&["api", "v1", "chats"], "chats");
        self.call(self.paged(call, Some(account), cursor)).await
    }

    /// One page of a chat's messages, newest first.
    pub async fn chat_messages(
        &self,
        chat_id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<ChatMessage>, GatewayError> {
        let call = Call::get(
            &["api", "v1", "chats", chat_id, "messages"],
            "chat messages",
        );
        self.call(self.paged(call, None, cursor)).await
    }

    /// The account's status (`GET /api/v1/accounts/{id}`): its first source's.
    pub async fn account_status(
        &self,
        account: &ProviderAccountId,
    ) -> Result<AccountStatus, GatewayError> {
        let body: AccountBody = self
            .call(Call::get(
                &["api", "v1", "accounts", account.as_str()],
                "account",
            ))
            .await?;
        let raw = body
            .sources
            .first()
            .map(|s| s.status.clone())
            .ok_or_else(|| {
                GatewayError::new(
                    GatewayErrorKind::Malformed,
                    "the account has no source status",
                )
            })?;
        Ok(AccountStatus {
            signal: status_signal(&raw),
            raw,
        })
    }

    fn paged<'a>(
        &self,
        mut call: Call<'a>,
        account: Option<&ProviderAccountId>,
        cursor: Option<&str>,
    ) -> Call<'a> {
        if let Some(account) = account {
            call = call.query("account_id", account.as_str());
        }
        call = call.query("limit", self.config.page_limit.to_string());
        if let Some(cursor) = cursor {
            call = call.query("cursor", cursor);
        }
        call
    }
}
