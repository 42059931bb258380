//! The polling fallback: what notifications should have said, read from the provider's lists.
//!
//! Acceptance notifications can come 6–8 hours late or never; message notifications stop while
//! an account is not OK. The poller lists, per active sender, its recent relations, its recent
//! chats' inbound messages and its status, and feeds what it finds to `Engine::ingest`. The
//! engine deduplicates (by message id, by "already accepted"), so overlapping with webhooks is
//! harmless; the poller also skips what it fed before, to keep the engine's work small.

use chrono::{DateTime, Duration, Utc};
use plera_actors::{Engine, EngineError, IngestOutcome};
use plera_domain::ids::{LeadId, ProviderAccountId, ProviderMessageId};
use plera_domain::ports::{AccountStatusSignal, Clock, GatewayError, InboundEvent};
use plera_domain::values::Channel;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::Mutex;

use crate::provider::{AccountDirectory, HttpLinkedIn, KnownAccount};

/// How far back the poller looks.
#[derive(Clone, Debug)]
pub struct PollerConfig {
    /// Relations made within this window are fed (invites are accepted within ~30 days).
    pub relations_window: Duration,
    /// Inbound messages within this window are fed.
    pub messages_window: Duration,
    /// Pages read at most per listing and account.
    pub max_pages: u32,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            relations_window: Duration::days(30),
            messages_window: Duration::days(2),
            max_pages: 5,
        }
    }
}

/// What one round found and fed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Accounts polled.
    pub accounts: usize,
    /// Events handed to the engine.
    pub fed: usize,
    /// Of those, the ones the engine recorded (the rest were duplicates or of no sequence).
    pub recorded: usize,
    /// Of those, the ones the engine refused for good (bad input from the provider): logged,
    /// and not fed again.
    pub refused: usize,
    /// Accounts whose listing failed this round (polled again next round).
    pub failed_accounts: Vec<ProviderAccountId>,
}

/// Why a poll round stopped.
#[derive(Debug, Error)]
pub enum PollError {
    /// The account directory failed.
    #[error("account directory: {0}")]
    Directory(String),
    /// The engine (or its store) is down: the round stopped.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
}

#[derive(Default)]
struct Seen {
    relations: HashMap<ProviderAccountId, HashSet<String>>,
    messages: HashMap<ProviderAccountId, HashSet<String>>,
    status: HashMap<ProviderAccountId, AccountStatusSignal>,
}

/// Polls the provider for what notifications may have missed.
pub struct Poller {
    gateway: Arc<HttpLinkedIn>,
    engine: Engine,
    accounts: Arc<dyn AccountDirectory>,
    clock: Arc<dyn Clock>,
    config: PollerConfig,
    seen: Mutex<Seen>,
}

impl Poller {
    /// A poller over `gateway`, feeding `engine`, for the senders of `accounts`.
    pub fn new(
        gateway: Arc<HttpLinkedIn>,
        engine: Engine,
        accounts: Arc<dyn AccountDirectory>,
        clock: Arc<dyn Clock>,
        config: PollerConfig,
    ) -> Self {
        Self {
            gateway,
            engine,
            accounts,
            clock,
            config,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// One round over every active sender. A provider failure on one account is reported and
    /// the others are still polled.
    pub async fn poll_once(&self) -> Result<PollReport, PollError> {
        let accounts = self
            .accounts
            .accounts()
            .await
            .map_err(PollError::Directory)?;
        let mut report = PollReport::default();
        let mut seen = self.seen.lock().await;
        for known in accounts.into_iter().filter(|a| a.active) {
            report.accounts += 1;
            match self.poll_account(&known, &mut seen).await {
                Ok(events) => {
                    self.feed(&known, events, &mut seen, &mut report).await?;
                }
                Err(error) => {
                    tracing::warn!(account = %known.provider, %error, "polling failed");
                    report.failed_accounts.push(known.provider.clone());
                }
            }
        }
        Ok(report)
    }

    /// Feeds one account's events to the engine in one call (the replies and acceptances among
    /// them share commits) and remembers those it took. An event refused for good (bad input
    /// from the provider) is logged and remembered too, so that it does not stop every round;
    /// when the engine is down, the round stops and the events it did not take are fed again.
    async fn feed(
        &self,
        known: &KnownAccount,
        events: Vec<(InboundEvent, Mark)>,
        seen: &mut Seen,
        report: &mut PollReport,
    ) -> Result<(), PollError> {
        let (events, marks): (Vec<_>, Vec<_>) = events.into_iter().unzip();
        report.fed += events.len();
        let answers = self.engine.ingest_all(&known.workspace, events).await;
        let mut down = None;
        for (answer, mark) in answers.into_iter().zip(marks) {
            match answer {
                Ok(outcome) => {
                    if outcome == IngestOutcome::Recorded {
                        report.recorded += 1;
                    }
                }
                Err(error) if error.is_transient() => {
                    down.get_or_insert(error);
                    continue;
                }
                Err(error) => {
                    tracing::warn!(account = %known.provider, %error, "polled event refused");
                    report.refused += 1;
                }
            }
            mark.apply(&known.provider, seen);
        }
        down.map_or(Ok(()), |error| Err(PollError::Engine(error)))
    }

    /// Polls every `every` until the task is dropped or aborted.
    pub fn spawn(self: Arc<Self>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(error) = self.poll_once().await {
                    tracing::warn!(%error, "poll round failed");
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    async fn poll_account(
        &self,
        known: &KnownAccount,
        seen: &mut Seen,
    ) -> Result<Vec<(InboundEvent, Mark)>, GatewayError> {
        let now = self.clock.now();
        let mut events = Vec::new();
        let status = self.gateway.account_status(&known.provider).await?;
        if let Some(signal) = status.signal {
            if seen.status.get(&known.provider) != Some(&signal) {
                events.push((
                    InboundEvent::AccountStatus {
                        account: known.account.clone(),
                        status: signal,
                        at: now,
                    },
                    Mark::Status(signal),
                ));
            }
        }
        let fed_relations = seen.relations.entry(known.provider.clone()).or_default();
        for relation in self
            .recent_relations(&known.provider, now - self.config.relations_window)
            .await?
        {
            if !fed_relations.contains(&relation.0) {
                events.push((
                    InboundEvent::InviteAccepted {
                        account: known.account.clone(),
                        lead: LeadId::new(relation.0.clone()),
                        at: relation.1.unwrap_or(now),
                    },
                    Mark::Relation(relation.0),
                ));
            }
        }
        let fed_messages = seen.messages.entry(known.provider.clone()).or_default();
        for message in self
            .recent_messages(&known.provider, now - self.config.messages_window)
            .await?
        {
            if !fed_messages.contains(&message.id) {
                events.push((
                    InboundEvent::MessageReceived {
                        account: Some(known.account.clone()),
                        lead: LeadId::new(message.lead),
                        channel: Channel::Linkedin,
                        message_id: ProviderMessageId::new(message.id.clone()),
                        text: message.text,
                        at: message.at.unwrap_or(now),
                    },
                    Mark::Message(message.id),
                ));
            }
        }
        Ok(events)
    }

    /// Relations made since `since` (listed newest first; those without a date are kept).
    async fn recent_relations(
        &self,
        account: &ProviderAccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, Option<DateTime<Utc>>)>, GatewayError> {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..self.config.max_pages {
            let page = self.gateway.relations(account, cursor.as_deref()).await?;
            let mut older = false;
            for relation in page.items {
                match relation.created_at {
                    Some(at) if at < since => older = true,
                    at => found.push((relation.member_id, at)),
                }
            }
            cursor = page.cursor;
            if older || cursor.is_none() {
                break;
            }
        }
        Ok(found)
    }

    /// Inbound messages since `since` in the chats active since then.
    async fn recent_messages(
        &self,
        account: &ProviderAccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<Inbound>, GatewayError> {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..self.config.max_pages {
            let page = self.gateway.chats(account, cursor.as_deref()).await?;
            let mut older = false;
            for chat in page.items {
                if chat.timestamp.is_some_and(|at| at < since) {
                    older = true;
                    continue;
                }
                let messages = self.gateway.chat_messages(&chat.id, None).await?;
                for message in messages.items {
                    if message.is_sender || message.timestamp.is_some_and(|at| at < since) {
                        continue;
                    }
                    let Some(lead) = message
                        .sender_id
                        .clone()
                        .or(chat.attendee_provider_id.clone())
                    else {
                        continue;
                    };
                    found.push(Inbound {
                        id: message.id,
                        lead,
                        text: message.text,
                        at: message.timestamp,
                    });
                }
            }
            cursor = page.cursor;
            if older || cursor.is_none() {
                break;
            }
        }
        Ok(found)
    }
}

struct Inbound {
    id: String,
    lead: String,
    text: String,
    at: Option<DateTime<Utc>>,
}

/// What to remember once the engine took an event.
enum Mark {
    Status(AccountStatusSignal),
    Relation(String),
    Message(String),
}

impl Mark {
    fn apply(self, account: &ProviderAccountId, seen: &mut Seen) {
        match self {
            Mark::Status(signal) => {
                seen.status.insert(account.clone(), signal);
            }
            Mark::Relation(member) => {
                seen.relations
                    .entry(account.clone())
                    .or_default()
                    .insert(member);
            }
            Mark::Message(id) => {
                seen.messages.entry(account.clone()).or_default().insert(id);
            }
        }
    }
}
