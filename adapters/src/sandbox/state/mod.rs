//! The world behind the lock: accounts, leads, what was sent, the ledger and the planned
//! notifications. Time comes in as `now`; the rules of each send are in `sends`.

mod sends;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use plera_domain::ids::{AccountId, LeadId, MailboxId, ProviderAccountId};
use plera_domain::ports::{
    AccountStatusSignal, EmailReceipt, EmailRequest, GatewayError, GatewayErrorKind, InboundEvent,
    InviteReceipt, InviteRequest, MessageReceipt, MessageRequest, StepKey,
};
use plera_domain::values::Tier;

use super::config::SandboxConfig;
use super::enforcement::Account;
use super::faults::{send_fault, SendFault, SendKind};
use super::flags::FlagDraws;
use super::ledger::{self, LedgerEntry};
use super::notifications::{Delivery, NotificationQueue};
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

/// Where an inbound message lands: a LinkedIn account's conversations or a mailbox.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Inbox {
    /// A sender's LinkedIn inbox.
    Account(AccountId),
    /// An email mailbox.
    Mailbox(MailboxId),
}

/// Inbound facts by provider time, then a stable key.
type Timeline = BTreeMap<(DateTime<Utc>, String), InboundEvent>;

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
    /// What really came in, per inbox, whether or not a notification told of it: the provider's
    /// listings that polling reads.
    inbound: BTreeMap<Inbox, Timeline>,
    /// Accepted invites per sender, by the instant of acceptance.
    relations: BTreeMap<AccountId, BTreeMap<(DateTime<Utc>, LeadId), ()>>,
}

impl WorldState {
    /// An empty world.
    pub fn new(config: SandboxConfig) -> Self {
        let queue = NotificationQueue::new(config.seed, config.fault_rate, config.faults.clone());
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
            queue,
            inbound: BTreeMap::new(),
            relations: BTreeMap::new(),
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
        self.advance_accounts(now);
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
        self.with_faults(SendKind::Invite, &request.key, |world| {
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
        self.with_faults(SendKind::Message, &request.key, |world| {
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
        self.with_faults(SendKind::Email, &request.key, |world| {
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

    /// When the next notification is due, session expiries and restrictions included.
    pub fn next_notification_at(&mut self) -> Option<DateTime<Utc>> {
        let seed = self.config.seed;
        let (expiry_rate, flag_rate) = (
            self.config.session_expiry_rate(),
            self.config.restriction_rate(),
        );
        let incidents = self.accounts.iter_mut().filter_map(|(id, account)| {
            let blackout = account.restriction();
            let expiry = account.session.next_expiry(
                ExpiryDraws {
                    seed,
                    rate: expiry_rate,
                    account: id,
                },
                blackout,
            );
            let flag = account.flags.next(FlagDraws {
                seed,
                rate: flag_rate,
                account: id,
            });
            expiry.into_iter().chain(flag).min()
        });
        incidents.chain(self.queue.next_at()).min()
    }

    /// Everything due at or before `up_to`, in order.
    pub fn take_deliveries(&mut self, up_to: DateTime<Utc>) -> Vec<Delivery> {
        self.advance_accounts(up_to);
        self.queue.take(up_to)
    }

    /// What the provider's listings show for `inbox` in `(since, now]`: the acceptances of its
    /// invites (for an account) and the messages that came in, by time.
    pub fn poll(
        &self,
        inbox: &Inbox,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<InboundEvent> {
        if now <= since {
            return Vec::new();
        }
        let mut found: Vec<(DateTime<Utc>, String, InboundEvent)> = Vec::new();
        if let Inbox::Account(account) = inbox {
            let accepted = self.relations.get(account).into_iter().flat_map(|r| {
                r.range((since, LeadId::new(String::new()))..)
                    .take_while(|((at, _), _)| *at <= now)
            });
            for ((at, lead), ()) in accepted {
                if *at > since {
                    found.push((
                        *at,
                        format!("accepted/{lead}"),
                        InboundEvent::InviteAccepted {
                            account: account.clone(),
                            lead: lead.clone(),
                            at: *at,
                        },
                    ));
                }
            }
        }
        let messages = self.inbound.get(inbox).into_iter().flat_map(|t| {
            t.range((since, String::new())..)
                .take_while(|((at, _), _)| *at <= now)
        });
        for ((at, key), event) in messages {
            if *at > since {
                found.push((*at, key.clone(), event.clone()));
            }
        }
        found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        found.into_iter().map(|(_, _, event)| event).collect()
    }

    /// Whether `id` is an account of the world.
    pub fn has_account(&self, id: &AccountId) -> bool {
        self.accounts.contains_key(id)
    }

    /// Decides every account's restrictions out of the blue and session expiries up to `up_to`,
    /// and plans their notices. Restrictions first: a restricted account has no session to lose.
    fn advance_accounts(&mut self, up_to: DateTime<Utc>) {
        let seed = self.config.seed;
        let (expiry_rate, flag_rate) = (
            self.config.session_expiry_rate(),
            self.config.restriction_rate(),
        );
        let duration = self.config.restriction.duration;
        for (id, account) in &mut self.accounts {
            let flagged = account.flags.advance(
                FlagDraws {
                    seed,
                    rate: flag_rate,
                    account: id,
                },
                up_to,
            );
            for at in flagged {
                if account.restrict(at, at + duration) {
                    self.queue.status(id, AccountStatusSignal::Restricted, at);
                    self.queue
                        .status(id, AccountStatusSignal::Ok, at + duration);
                }
            }
            let blackout = account.restriction();
            let draws = ExpiryDraws {
                seed,
                rate: expiry_rate,
                account: id,
            };
            if let Some(at) = account.session.advance(draws, blackout, up_to) {
                self.queue
                    .status(id, AccountStatusSignal::CredentialsExpired, at);
            }
        }
    }

    /// Records that `lead` accepted `account`'s invite at `at` (for the relations listing).
    fn record_relation(&mut self, account: &AccountId, lead: &LeadId, at: DateTime<Utc>) {
        self.relations
            .entry(account.clone())
            .or_default()
            .insert((at, lead.clone()), ());
    }

    /// Records an inbound message in its inbox (for the chat and mailbox listings).
    fn record_inbound(
        &mut self,
        inbox: Inbox,
        key: String,
        at: DateTime<Utc>,
        event: InboundEvent,
    ) {
        self.inbound
            .entry(inbox)
            .or_default()
            .insert((at, key), event);
    }

    /// Runs one new send through the configured provider faults.
    fn with_faults<T>(
        &mut self,
        kind: SendKind,
        key: &StepKey,
        perform: impl FnOnce(&mut Self) -> Result<T, GatewayError>,
    ) -> Result<T, GatewayError> {
        let attempt = self
            .attempts
            .entry((kind.label(), key.clone()))
            .or_insert(0);
        let this_attempt = *attempt;
        *attempt += 1;
        let fault = send_fault(
            self.config.seed,
            self.config.fault_rate,
            &self.config.faults,
            kind,
            key,
            this_attempt,
        );
        if let Some(refusal) = fault.refusal() {
            return Err(refusal);
        }
        if fault == SendFault::LostAnswer {
            // The provider acted (or refused) but its answer never arrives: the caller must
            // reconcile by key to learn which.
            let _ignored = perform(self);
            return Err(GatewayError::new(
                GatewayErrorKind::Timeout,
                "the provider's answer was lost",
            ));
        }
        perform(self)
    }
}

/// Addresses compare case-insensitively and without surrounding blanks.
fn normalise_address(address: &str) -> String {
    address.trim().to_lowercase()
}
