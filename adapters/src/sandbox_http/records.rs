//! What the provider keeps besides the world: which provider account is which sandbox account,
//! the sends asked for (by idempotency key), the chats, the statuses last announced, and the
//! hosted-auth links handed out. Listings are read from here and checked against the world.

use chrono::{DateTime, Utc};
use plera_domain::ids::{AccountId, LeadId, ProviderAccountId};
use plera_domain::ports::{AccountStatusSignal, StepKey};
use std::collections::BTreeMap;

/// An invite asked for.
#[derive(Clone, Debug)]
pub(super) struct AskedInvite {
    pub key: StepKey,
    pub provider: ProviderAccountId,
    pub lead: LeadId,
}

/// One message of a chat.
#[derive(Clone, Debug)]
pub(super) struct StoredMessage {
    pub id: String,
    pub text: String,
    pub from_us: bool,
    pub at: DateTime<Utc>,
    pub key: Option<String>,
}

/// A 1:1 chat between a sandbox account and a lead.
#[derive(Clone, Debug)]
pub(super) struct StoredChat {
    pub id: String,
    pub provider: ProviderAccountId,
    pub lead: LeadId,
    pub messages: Vec<StoredMessage>,
}

impl StoredChat {
    pub fn last_at(&self) -> Option<DateTime<Utc>> {
        self.messages.iter().map(|m| m.at).max()
    }
}

/// A hosted-auth link handed out.
#[derive(Clone, Debug)]
pub(super) struct HostedLink {
    pub name: String,
    pub notify_url: String,
    pub reconnect: Option<ProviderAccountId>,
}

/// An email the sink passed to the world, for threading the lead's answer.
#[derive(Clone, Debug)]
pub(super) struct SentEmail {
    pub message_id: String,
    pub to: String,
}

/// Everything the provider side remembers.
#[derive(Default)]
pub(super) struct Records {
    pub accounts: BTreeMap<ProviderAccountId, AccountId>,
    pub invites: Vec<AskedInvite>,
    pub chats: Vec<StoredChat>,
    pub statuses: BTreeMap<ProviderAccountId, AccountStatusSignal>,
    pub links: BTreeMap<String, HostedLink>,
    pub links_made: u64,
    pub emails: BTreeMap<LeadId, SentEmail>,
}

impl Records {
    pub fn provider_of(&self, account: &AccountId) -> Option<ProviderAccountId> {
        self.accounts
            .iter()
            .find(|(_, a)| *a == account)
            .map(|(p, _)| p.clone())
    }

    /// The chat of `provider` with `lead`, made if new; its index.
    pub fn chat_with(&mut self, provider: &ProviderAccountId, lead: &LeadId) -> usize {
        if let Some(i) = self
            .chats
            .iter()
            .position(|c| &c.provider == provider && &c.lead == lead)
        {
            return i;
        }
        self.chats.push(StoredChat {
            id: format!("chat-{}-{}", provider, lead),
            provider: provider.clone(),
            lead: lead.clone(),
            messages: Vec::new(),
        });
        self.chats.len() - 1
    }
}
