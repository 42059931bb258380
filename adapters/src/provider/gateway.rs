//! The `LinkedInGateway` port over HTTP: sends, and reconciliation of lost answers.
//!
//! Reconciliation lists what the account sent and matches our idempotency marker, which the
//! provider is assumed to echo (`idempotency_key` on sent invitations and on messages). A
//! provider that echoes no marker at all on its sent invitations gets a weaker match: a pending
//! invitation to the same member from the same account (an account cannot invite one member
//! twice, so it is ours). Messages have no such fallback.

use async_trait::async_trait;
use plera_domain::ids::{LeadId, ProviderAccountId};
use plera_domain::ports::{
    GatewayError, GatewayErrorKind, InviteReceipt, InviteRequest, LinkedInGateway, MessageReceipt,
    MessageRequest, StepKey,
};

use super::client::{Call, HttpLinkedIn};
use super::keys::{key_marker, sequence_parts};
use super::wire::{
    Chat, ChatMessage, ChatMessageBody, InvitationSent, InviteBody, MessageSent, Page,
    SentInvitation, StartChatBody,
};

#[async_trait]
impl LinkedInGateway for HttpLinkedIn {
    async fn send_invite(&self, request: InviteRequest) -> Result<InviteReceipt, GatewayError> {
        self.remember(&request.key, &request.provider_account);
        let body = InviteBody {
            account_id: request.provider_account.to_string(),
            provider_id: request.lead.to_string(),
            message: request.note.clone(),
        };
        let sent: InvitationSent = self
            .call(
                Call::post(&["api", "v1", "users", "invite"], &body, "invitation")
                    .key(&request.key),
            )
            .await?;
        if sent.invitation_id.is_empty() {
            return Err(GatewayError::new(
                GatewayErrorKind::Malformed,
                "the provider answered an invite without an invitation id",
            ));
        }
        Ok(InviteReceipt {
            invitation_id: sent.invitation_id,
            usage: sent.usage.and_then(fraction),
            at: self.clock.now(),
        })
    }

    async fn send_message(&self, request: MessageRequest) -> Result<MessageReceipt, GatewayError> {
        self.remember(&request.key, &request.provider_account);
        let body = StartChatBody {
            account_id: request.provider_account.to_string(),
            attendees_ids: vec![request.lead.to_string()],
            text: request.text.clone(),
        };
        let sent: MessageSent = self
            .call(Call::post(&["api", "v1", "chats"], &body, "chat").key(&request.key))
            .await?;
        self.receipt(sent)
    }

    async fn find_invite(&self, key: &StepKey) -> Result<Option<InviteReceipt>, GatewayError> {
        let Some((_, lead)) = sequence_parts(&key.sequence) else {
            return Ok(None);
        };
        let marker = key_marker(key);
        for account in self.candidates(key).await? {
            if let Some(found) = self.find_sent_invitation(&account, &lead, &marker).await? {
                return Ok(Some(InviteReceipt {
                    invitation_id: found.id,
                    usage: None,
                    at: found.date.unwrap_or_else(|| self.clock.now()),
                }));
            }
        }
        Ok(None)
    }

    async fn find_message(&self, key: &StepKey) -> Result<Option<MessageReceipt>, GatewayError> {
        let Some((_, lead)) = sequence_parts(&key.sequence) else {
            return Ok(None);
        };
        let marker = key_marker(key);
        for account in self.candidates(key).await? {
            for chat in self.chats_with(&account, &lead).await? {
                if let Some(found) = self.find_in_chat(&chat.id, &marker).await? {
                    return Ok(Some(MessageReceipt {
                        message_id: found.id,
                        at: found.timestamp.unwrap_or_else(|| self.clock.now()),
                    }));
                }
            }
        }
        Ok(None)
    }
}

impl HttpLinkedIn {
    /// Writes in an existing chat (`POST /api/v1/chats/{chat_id}/messages`), with `key` as the
    /// idempotency marker.
    pub async fn send_in_chat(
        &self,
        chat_id: &str,
        text: &str,
        key: &StepKey,
    ) -> Result<MessageReceipt, GatewayError> {
        let body = ChatMessageBody {
            text: text.to_string(),
        };
        let sent: MessageSent = self
            .call(
                Call::post(
                    &["api", "v1", "chats", chat_id, "messages"],
                    &body,
                    "message",
                )
                .key(key),
            )
            .await?;
        self.receipt(sent)
    }

    fn receipt(&self, sent: MessageSent) -> Result<MessageReceipt, GatewayError> {
        let message_id = sent.message_id.or(sent.chat_id).ok_or_else(|| {
            GatewayError::new(
                GatewayErrorKind::Malformed,
                "the provider answered a message without a message or chat id",
            )
        })?;
        Ok(MessageReceipt {
            message_id,
            at: self.clock.now(),
        })
    }

    /// The accounts that may have sent `key`: the one this process remembers, then the
    /// workspace's senders from the directory.
    async fn candidates(&self, key: &StepKey) -> Result<Vec<ProviderAccountId>, GatewayError> {
        let mut found: Vec<ProviderAccountId> = self.remembered(key).into_iter().collect();
        if let (Some(directory), Some((workspace, _))) =
            (&self.accounts, sequence_parts(&key.sequence))
        {
            let accounts = directory.of_workspace(&workspace).await.map_err(|e| {
                GatewayError::new(
                    GatewayErrorKind::Transient,
                    format!("account directory: {e}"),
                )
            })?;
            for account in accounts {
                if !found.contains(&account.provider) {
                    found.push(account.provider);
                }
            }
        }
        if found.is_empty() {
            // Answering "not sent" without having looked would let the step go out twice.
            return Err(GatewayError::new(
                GatewayErrorKind::Transient,
                format!("cannot reconcile {key}: no provider account known to look in"),
            ));
        }
        Ok(found)
    }

    async fn find_sent_invitation(
        &self,
        account: &ProviderAccountId,
        lead: &LeadId,
        marker: &str,
    ) -> Result<Option<SentInvitation>, GatewayError> {
        let mut any_marker = false;
        let mut to_lead = None;
        let mut cursor: Option<String> = None;
        for _ in 0..self.config.max_pages {
            let page = self.sent_invitations(account, cursor.as_deref()).await?;
            for item in page.items {
                match item.idempotency_key.as_deref() {
                    Some(m) if m == marker => return Ok(Some(item)),
                    Some(_) => any_marker = true,
                    None if item.invited_user_id == lead.as_str() && to_lead.is_none() => {
                        to_lead = Some(item)
                    }
                    None => {}
                }
            }
            cursor = page.cursor;
            if cursor.is_none() {
                return Ok(if any_marker { None } else { to_lead });
            }
        }
        Err(incomplete("sent invitations"))
    }

    async fn chats_with(
        &self,
        account: &ProviderAccountId,
        lead: &LeadId,
    ) -> Result<Vec<Chat>, GatewayError> {
        let mut chats = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..self.config.max_pages {
            let page = self.chats(account, cursor.as_deref()).await?;
            chats.extend(
                page.items
                    .into_iter()
                    .filter(|c| c.attendee_provider_id.as_deref() == Some(lead.as_str())),
            );
            cursor = page.cursor;
            if cursor.is_none() {
                return Ok(chats);
            }
        }
        Err(incomplete("chats"))
    }

    async fn find_in_chat(
        &self,
        chat_id: &str,
        marker: &str,
    ) -> Result<Option<ChatMessage>, GatewayError> {
        let mut cursor: Option<String> = None;
        for _ in 0..self.config.max_pages {
            let page: Page<ChatMessage> = self.chat_messages(chat_id, cursor.as_deref()).await?;
            if let Some(found) = page
                .items
                .into_iter()
                .find(|m| m.is_sender && m.idempotency_key.as_deref() == Some(marker))
            {
                return Ok(Some(found));
            }
            cursor = page.cursor;
            if cursor.is_none() {
                return Ok(None);
            }
        }
        Err(incomplete("chat messages"))
    }
}

/// The provider's usage as a fraction: some report a share, some a percentage.
fn fraction(usage: f64) -> Option<f64> {
    if !usage.is_finite() || usage < 0.0 {
        return None;
    }
    Some(if usage > 1.0 {
        (usage / 100.0).min(1.0)
    } else {
        usage
    })
}

/// A listing longer than we read: "not found" would not be the truth.
fn incomplete(what: &str) -> GatewayError {
    GatewayError::new(
        GatewayErrorKind::Transient,
        format!("reconciliation stopped after the page limit while reading {what}"),
    )
}
