//! The shareable handle on the simulated world: set-up, the simulator's view of notifications and
//! the ledger. The gateway traits are implemented in `gateway.rs`.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use plera_domain::ids::{AccountId, LeadId, MailboxId, ProviderAccountId};
use plera_domain::ports::{Clock, InboundEvent};
use plera_domain::values::Tier;
use thiserror::Error;

use super::config::SandboxConfig;
use super::ledger::{self, LedgerEntry};
use super::notifications::Delivery;
use super::state::{Inbox, WorldState};

/// A lead as the sandbox needs to know them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxLead {
    /// The lead's email address, if they have one.
    pub email: Option<String>,
    /// Senders the lead is already connected with (messages may go out without an invite).
    pub first_degree_with: BTreeSet<AccountId>,
}

/// Misuse of the sandbox's own set-up API (never a provider answer: those are `GatewayError`s).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SandboxError {
    /// The account was never added.
    #[error("unknown sandbox account {0}")]
    UnknownAccount(AccountId),
}

/// A deterministic simulated LinkedIn and mailbox: implements `LinkedInGateway` and
/// `EmailGateway`, stamps everything with the given clock, and records what it really did.
/// Clones share one world.
#[derive(Clone)]
pub struct SandboxWorld {
    state: Arc<Mutex<WorldState>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SandboxWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxWorld")
            .field("seed", &self.lock().config().seed)
            .finish_non_exhaustive()
    }
}

impl SandboxWorld {
    /// An empty world under `config`, telling time by `clock`.
    pub fn new(config: SandboxConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Arc::new(Mutex::new(WorldState::new(config))),
            clock,
        }
    }

    /// The configuration the world runs under.
    pub fn config(&self) -> SandboxConfig {
        self.lock().config().clone()
    }

    /// Connects a sender account now, counting its days in UTC.
    pub fn add_account(&self, account: AccountId, provider: ProviderAccountId, tier: Tier) {
        self.add_account_in(account, provider, tier, Tz::UTC);
    }

    /// Connects a sender account now, counting its daily caps in the days of `tz`.
    pub fn add_account_in(
        &self,
        account: AccountId,
        provider: ProviderAccountId,
        tier: Tier,
        tz: Tz,
    ) {
        let now = self.clock.now();
        self.lock().add_account(account, provider, tier, tz, now);
    }

    /// Adds a lead (adding it again replaces its address and connections).
    pub fn add_lead(&self, lead: LeadId, details: SandboxLead) {
        self.lock().add_lead(lead, details);
    }

    /// The user renews an expired session; an `Ok` status notice follows.
    pub fn reconnect(&self, account: &AccountId) -> Result<(), SandboxError> {
        let now = self.clock.now();
        self.lock().reconnect(account, now)
    }

    /// Whether `lead` is a 1st-degree connection of `account` now (accepted invites included,
    /// even before their notification is delivered).
    pub fn is_connected(&self, account: &AccountId, lead: &LeadId) -> bool {
        let now = self.clock.now();
        self.lock().is_connected(account, lead, now)
    }

    /// When the next notification is due (possibly already past), if any is planned.
    pub fn next_notification_at(&self) -> Option<DateTime<Utc>> {
        self.lock().next_notification_at()
    }

    /// Removes and returns every notification due at or before `up_to`, by due time and then by
    /// a stable key. Each event's `at` is the provider's time: when it received the message, saw
    /// the acceptance (possibly hours after it happened) or changed the account's status; a
    /// repeated, held-back or late delivery keeps it.
    pub fn take_notifications(&self, up_to: DateTime<Utc>) -> Vec<InboundEvent> {
        self.take_deliveries(up_to)
            .into_iter()
            .map(|d| d.event)
            .collect()
    }

    /// The same, with the instant each delivery is due.
    pub fn take_deliveries(&self, up_to: DateTime<Utc>) -> Vec<Delivery> {
        self.lock().take_deliveries(up_to)
    }

    /// The polling fallback, as the provider's listings of `account`'s relations and chats show
    /// it: every acceptance of the account's invites (its `at` is when the lead accepted) and
    /// every message a lead sent it (auto-replies included), with provider time in
    /// `(since, now]`, by time. Dropped, late or not yet delivered notifications are all here;
    /// the engine deduplicates what it saw already.
    pub fn poll(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<InboundEvent>, SandboxError> {
        let now = self.clock.now();
        let state = self.lock();
        if !state.has_account(account) {
            return Err(SandboxError::UnknownAccount(account.clone()));
        }
        Ok(state.poll(&Inbox::Account(account.clone()), since, now))
    }

    /// The polling fallback of a mailbox (an IMAP fetch): the answers to its emails with provider
    /// time in `(since, now]`, by time. A mailbox that sent nothing has nothing.
    pub fn poll_mailbox(&self, mailbox: &MailboxId, since: DateTime<Utc>) -> Vec<InboundEvent> {
        let now = self.clock.now();
        self.lock()
            .poll(&Inbox::Mailbox(mailbox.clone()), since, now)
    }

    /// Every action the sandbox really performed, by time then key.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.lock().ledger()
    }

    /// Writes the ledger as JSON lines `{ "at", "account_id", "lead_id", "action", "key", ... }`.
    pub fn write_ledger_jsonl<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let entries = self.ledger();
        ledger::write_jsonl(&entries, out)
    }

    /// The current instant of the world's clock.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The state; a poisoned lock is taken over, since every operation leaves the state whole
    /// before it could panic.
    pub(crate) fn lock(&self) -> MutexGuard<'_, WorldState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
