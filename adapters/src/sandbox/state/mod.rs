//! The world behind the lock: accounts, leads, what was sent, the ledger and the planned
//! notifications. Time comes in as `now`; the rules of each send are in `sends`.

mod sends;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use plera_domain::ids::{AccountId, LeadId, ProviderAccountId};
use plera_domain::ports::{
    AccountStatusSignal, EmailReceipt, EmailRequest, GatewayError, GatewayErrorKind, InboundEvent,
    InviteReceipt, InviteRequest, MessageReceipt, MessageRequest, StepKey,
};
use plera_domain::values::Tier;

use super::behaviour::{self, Fault};
use super::config::SandboxConfig;
use super::enforcement::Account;
use super::ledger::{self, LedgerEntry};
use super::notifications::NotificationQueue;
use super::session::ExpiryDraws;
use super::world::{SandboxError, SandboxLead};

/// A lead as the sandbox knows it.
#[derive(Clone, Debug)]
struct Lead {
    first_degree_with: BTreeSet<AccountId>,
    /// Invites received, by sender, with the instant of acceptance if the lead accepts.
    invited_by: BTreeMap<AccountId, Option<DateTime<Utc>>>,
    email: Option<String>,
}

impl Lead {
    fn connected(&self, account: &AccountId, now: DateTime<Utc>) -> bool {
        self.first_degree_with.contains(account)
            || self
                .invited_by
                .get(account)
                .is_some_and(|accepted| accepted.is_some_and(|at| at <= now))
    }
}

/// Everything the sandbox holds.
pub(crate) struct WorldState {
    config: SandboxConfig,
    accounts: BTreeMap<AccountId, Account>,
    leads: BTreeMap<LeadId, Lead>,
    /// Normalised address → the leads using it (the smallest id receives, whatever the order of
    /// `add_lead` calls).
    addresses: BTreeMap<String, BTreeSet<LeadId>>,
    invites: BTreeMap<StepKey, InviteReceipt>,
    messages: BTreeMap<StepKey, MessageReceipt>,
    emails: BTreeMap<StepKey, EmailReceipt>,
    attempts: BTreeMap<(&'static str, StepKey), u32>,
    ledger: Vec<LedgerEntry>,
    queue: NotificationQueue,
}

impl WorldState {
    /// An empty world.
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            config,
            accounts: BTreeMap::new(),
            leads: BTreeMap::new(),
            addresses: BTreeMap::new(),
            invites: BTreeMap::new(),
            messages: BTreeMap::new(),
            emails: BTreeMap::new(),
            attempts: BTreeMap::new(),
            ledger: Vec::new(),
            queue: NotificationQueue::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Adds an account connected at `now`; adding it again changes its settings, not its history.
    pub fn add_account(
        &mut self,
        id: AccountId,
        provider: ProviderAccountId,
        tier: Tier,
        tz: Tz,
        now: DateTime<Utc>,
    ) {
        match self.accounts.get_mut(&id) {
            Some(account) => {
                account.provider = provider;
                account.tier = tier;
                account.tz = tz;
            }
            None => {
                self.accounts
                    .insert(id, Account::new(provider, tier, tz, now));
            }
        }
    }

    /// Adds a lead; adding it again replaces its address and connections, not its invites.
    pub fn add_lead(&mut self, id: LeadId, lead: SandboxLead) {
        let email = lead.email.as_deref().map(normalise_address);
        let previous = self.leads.get(&id).cloned();
        if let Some(old) = previous.as_ref().and_then(|l| l.email.as_ref()) {
            if let Some(set) = self.addresses.get_mut(old) {
                set.remove(&id);
            }
        }
        if let Some(address) = &email {
            self.addresses
                .entry(address.clone())
                .or_default()
                .insert(id.clone());
        }
        self.leads.insert(
            id,
            Lead {
                first_degree_with: lead.first_degree_with,
                invited_by: previous.map(|l| l.invited_by).unwrap_or_default(),
                email,
            },
        );
    }

    /// Whether `lead` is a 1st-degree connection of `account` at `now`.
    pub fn is_connected(&self, account: &AccountId, lead: &LeadId, now: DateTime<Utc>) -> bool {
        self.leads
            .get(lead)
            .is_some_and(|l| l.connected(account, now))
    }

    /// Restores an expired session (an `Ok` status notice follows); a live session is left alone.
    pub fn reconnect(&mut self, id: &AccountId, now: DateTime<Utc>) -> Result<(), SandboxError> {
        if !self.accounts.contains_key(id) {
            return Err(SandboxError::UnknownAccount(id.clone()));
        }
        self.advance_sessions(now);
        let restored = self
            .accounts
            .get_mut(id)
            .is_some_and(|account| account.session.reconnect(now));
        if restored {
            self.queue.status(id, AccountStatusSignal::Ok, now);
        }
        Ok(())
    }

    /// Sends an invite (once per key).
    pub fn invite(
        &mut self,
        request: &InviteRequest,
        now: DateTime<Utc>,
    ) -> Result<InviteReceipt, GatewayError> {
        if let Some(receipt) = self.invites.get(&request.key) {
            return Ok(receipt.clone());
        }
        self.with_faults("invite", &request.key, |world| {
            world.perform_invite(request, now)
        })
    }

    /// Sends a direct message (once per key).
    pub fn message(
        &mut self,
        request: &MessageRequest,
        now: DateTime<Utc>,
    ) -> Result<MessageReceipt, GatewayError> {
        if let Some(receipt) = self.messages.get(&request.key) {
            return Ok(receipt.clone());
        }
        self.with_faults("message", &request.key, |world| {
            world.perform_message(request, now)
        })
    }

    /// Sends an email (once per key).
    pub fn email(
        &mut self,
        request: &EmailRequest,
        now: DateTime<Utc>,
    ) -> Result<EmailReceipt, GatewayError> {
        if let Some(receipt) = self.emails.get(&request.key) {
            return Ok(receipt.clone());
        }
        self.with_faults("email", &request.key, |world| {
            world.perform_email(request, now)
        })
    }

    /// The receipt of the invite sent under `key`, if it really was.
    pub fn find_invite(&self, key: &StepKey) -> Option<InviteReceipt> {
        self.invites.get(key).cloned()
    }

    /// The receipt of the message sent under `key`, if it really was.
    pub fn find_message(&self, key: &StepKey) -> Option<MessageReceipt> {
        self.messages.get(key).cloned()
    }

    /// The receipt of the email sent under `key`, if it really was.
    pub fn find_email(&self, key: &StepKey) -> Option<EmailReceipt> {
        self.emails.get(key).cloned()
    }

    /// The ledger in its deterministic order.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        ledger::sorted(&self.ledger)
    }

    /// When the next notification is due, session expiries included.
    pub fn next_notification_at(&mut self) -> Option<DateTime<Utc>> {
        let (seed, rate) = (self.config.seed, self.config.session_expiry_per_account_day);
        let expiries = self.accounts.iter_mut().filter_map(|(id, account)| {
            let blackout = account.restriction();
            account.session.next_expiry(
                ExpiryDraws {
                    seed,
                    rate,
                    account: id,
                },
                blackout,
            )
        });
        expiries.chain(self.queue.next_at()).min()
    }

    /// Everything due at or before `up_to`, in order.
    pub fn take_notifications(&mut self, up_to: DateTime<Utc>) -> Vec<InboundEvent> {
        self.advance_sessions(up_to);
        self.queue.take(up_to)
    }

    /// Decides every account's session expiries up to `up_to` and plans their notices.
    fn advance_sessions(&mut self, up_to: DateTime<Utc>) {
        let (seed, rate) = (self.config.seed, self.config.session_expiry_per_account_day);
        for (id, account) in &mut self.accounts {
            let blackout = account.restriction();
            let draws = ExpiryDraws {
                seed,
                rate,
                account: id,
            };
            if let Some(at) = account.session.advance(draws, blackout, up_to) {
                self.queue
                    .status(id, AccountStatusSignal::CredentialsExpired, at);
            }
        }
    }

    /// Runs one new send through the configured provider faults.
    fn with_faults<T>(
        &mut self,
        action: &'static str,
        key: &StepKey,
        perform: impl FnOnce(&mut Self) -> Result<T, GatewayError>,
    ) -> Result<T, GatewayError> {
        let attempt = self.attempts.entry((action, key.clone())).or_insert(0);
        let this_attempt = *attempt;
        *attempt += 1;
        match behaviour::fault(
            self.config.seed,
            self.config.fault_rate,
            action,
            key,
            this_attempt,
        ) {
            Fault::None => perform(self),
            Fault::Transient => Err(GatewayError::new(
                GatewayErrorKind::Transient,
                "network_down: the provider could not be reached",
            )),
            Fault::LostAnswer => {
                // The provider acted (or refused) but its answer never arrives: the caller must
                // reconcile by key to learn which.
                let _ignored = perform(self);
                Err(GatewayError::new(
                    GatewayErrorKind::Timeout,
                    "the provider's answer was lost",
                ))
            }
        }
    }
}

/// Addresses compare case-insensitively and without surrounding blanks.
fn normalise_address(address: &str) -> String {
    address.trim().to_lowercase()
}
