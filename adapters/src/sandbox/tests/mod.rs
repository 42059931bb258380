//! Tests of the sandbox world through its public API and the gateway ports, on a settable clock.

mod behaviour;
mod determinism;
mod enforcement;
mod faults;
mod idempotency;
mod lead_rules;
mod ledger;
mod session;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_domain::ids::{AccountId, LeadId, MailboxId, ProviderAccountId, SequenceId};
use plera_domain::ports::{
    Clock, EmailRequest, GatewayErrorKind, InboundEvent, InviteRequest, MessageRequest, StepKey,
};
use plera_domain::values::Tier;

use super::{SandboxConfig, SandboxLead, SandboxWorld, TierCaps};

/// A clock the test sets by hand.
pub(super) struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub(super) fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("test clock") = at;
    }

    pub(super) fn advance(&self, by: Duration) {
        let mut now = self.0.lock().expect("test clock");
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("test clock")
    }
}

/// Monday 2 March 2026, 09:00 UTC.
pub(super) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid instant")
}

/// LinkedIn's rules alone: no session expiry, no provider faults.
pub(super) fn quiet() -> SandboxConfig {
    SandboxConfig {
        session_expiry_per_account_day: 0.0,
        fault_rate: 0.0,
        ..SandboxConfig::seeded(42)
    }
}

/// Caps too high to matter, for tests about the leads rather than LinkedIn's limits.
pub(super) fn uncapped(config: SandboxConfig) -> SandboxConfig {
    let caps = TierCaps {
        daily_invites: 1_000_000,
        weekly_invites: 1_000_000,
        daily_messages: 1_000_000,
    };
    SandboxConfig {
        caps: super::ProviderCaps {
            free: caps,
            premium: caps,
        },
        ..config
    }
}

/// A world on a test clock set to `start()`.
pub(super) fn world(config: SandboxConfig) -> (SandboxWorld, Arc<TestClock>) {
    let clock = Arc::new(TestClock(Mutex::new(start())));
    let world = SandboxWorld::new(config, clock.clone());
    (world, clock)
}

pub(super) fn account(world: &SandboxWorld, id: &str, tier: Tier) {
    world.add_account(AccountId::new(id), provider(id), tier);
}

pub(super) fn provider(account: &str) -> ProviderAccountId {
    ProviderAccountId::new(format!("p-{account}"))
}

/// Adds `lead`, connected to `first_degree_with`, with an address `<lead>@example.com`.
pub(super) fn lead(world: &SandboxWorld, id: &str, first_degree_with: &[&str]) {
    world.add_lead(
        LeadId::new(id),
        SandboxLead {
            email: Some(format!("{id}@example.com")),
            first_degree_with: first_degree_with
                .iter()
                .map(|a| AccountId::new(*a))
                .collect(),
        },
    );
}

pub(super) fn leads(world: &SandboxWorld, count: usize, first_degree_with: &[&str]) -> Vec<String> {
    (0..count)
        .map(|i| {
            let id = format!("lead-{i:05}");
            lead(world, &id, first_degree_with);
            id
        })
        .collect()
}

pub(super) fn key(sequence: &str, step: u32) -> StepKey {
    StepKey {
        sequence: SequenceId::new(sequence),
        step,
    }
}

pub(super) fn invite(account: &str, lead: &str, key: StepKey, note: Option<&str>) -> InviteRequest {
    InviteRequest {
        key,
        account: AccountId::new(account),
        provider_account: provider(account),
        lead: LeadId::new(lead),
        note: note.map(str::to_owned),
    }
}

pub(super) fn message(account: &str, lead: &str, key: StepKey) -> MessageRequest {
    MessageRequest {
        key,
        account: AccountId::new(account),
        provider_account: provider(account),
        lead: LeadId::new(lead),
        text: format!("Hi {lead}, thanks for connecting!"),
    }
}

pub(super) fn email(to: &str, key: StepKey) -> EmailRequest {
    EmailRequest {
        key,
        mailbox: MailboxId::new("mbx-1"),
        to: to.to_owned(),
        subject: "Quick question".to_owned(),
        body: "Would a short call make sense?".to_owned(),
    }
}

/// The error kind of a result, for compact assertions.
pub(super) fn kind<T: std::fmt::Debug>(
    result: Result<T, plera_domain::ports::GatewayError>,
) -> GatewayErrorKind {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.kind,
    }
}

/// Whether a text is one of the sandbox's out-of-office answers.
pub(super) fn is_out_of_office(text: &str) -> bool {
    text.contains("out of the office")
        || text.starts_with("Automatic reply")
        || text.starts_with("Out of office")
}

/// All notifications from now to far in the future.
pub(super) fn drain(world: &SandboxWorld) -> Vec<InboundEvent> {
    world.take_notifications(start() + Duration::days(400))
}

pub(super) fn set_of(accounts: &[&str]) -> BTreeSet<AccountId> {
    accounts.iter().map(|a| AccountId::new(*a)).collect()
}
