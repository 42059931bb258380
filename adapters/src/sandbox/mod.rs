//! The sandbox: a deterministic simulated LinkedIn and mailbox behind the domain's gateway ports,
//! used by tests and by `plera simulate`.
//!
//! It enforces LinkedIn's own rules (hard caps, restriction after pushing, expiring sessions, who
//! may be invited or messaged), plays the leads (acceptance, replies, out-of-office answers, late
//! notifications) with the rates of `linkedin-facts.md`, and keeps a ledger of what it really did.
//! Every draw comes from the seed and the names of what it is about, and every instant from the
//! injected clock, so the same seed and the same actions at the same instants give the same world
//! in any call order. (Only contention is order-dependent, as on LinkedIn: when sends compete for
//! the last unit of a cap, whichever arrives first gets it.)
//!
//! With a `fault_rate` the provider is flaky too (`faults.rs`, described in `RELIABILITY.md`):
//! 5xx, lost answers and timeouts, 429, `limit_exceeded`, both meanings of `cannot_resend_yet`,
//! extra session expiries, restrictions out of the blue, out-of-office auto-replies, and
//! notifications repeated, dropped, held back or hours late. What notifications lose, the
//! polling fallback ([`SandboxWorld::poll`], [`SandboxWorld::poll_mailbox`]) still lists.
//!
//! Not modelled: invite withdrawal (so a re-invite is blocked for good, not ~3 weeks), the
//! personalised-note quota of free accounts, pending-invite limits, and the provider holding back
//! message notifications while an account is not OK.

mod behaviour;
mod config;
mod enforcement;
mod faults;
mod flags;
mod gateway;
mod ledger;
mod lookahead;
mod notifications;
mod session;
mod state;
mod texts;
mod world;

#[cfg(test)]
mod tests;

pub use config::{DelayCurve, DelayKnot, ProviderCaps, RestrictionPolicy, SandboxConfig, TierCaps};
pub use faults::FaultModel;
pub use ledger::LedgerEntry;
pub use notifications::Delivery;
pub use world::{SandboxError, SandboxLead, SandboxWorld};
