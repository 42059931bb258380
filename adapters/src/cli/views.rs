//! `plera replay`, `inbox`, `accounts` and `funnel`: designed (every flag of DESIGN §8 is parsed),
//! waiting for the projections of `adapters/src/views` to be wired in. Until then each says so
//! and touches nothing.

use super::args::{AccountsArgs, FunnelArgs, InboxArgs, ReplayArgs};
use super::error::CliError;
use super::Finished;

const WAITING: &str = "the projections (adapters/src/views) are not wired to the command line yet";

/// `plera replay`.
pub async fn replay(_url: &str, _args: &ReplayArgs) -> Result<Finished, CliError> {
    Err(CliError::NotAvailable {
        what: "plera replay",
        reason: WAITING,
    })
}

/// `plera inbox`.
pub async fn inbox(_url: &str, _args: &InboxArgs) -> Result<Finished, CliError> {
    Err(CliError::NotAvailable {
        what: "plera inbox",
        reason: WAITING,
    })
}

/// `plera accounts`.
pub async fn accounts(_url: &str, _args: &AccountsArgs) -> Result<Finished, CliError> {
    Err(CliError::NotAvailable {
        what: "plera accounts",
        reason: WAITING,
    })
}

/// `plera funnel`.
pub async fn funnel(_url: &str, _args: &FunnelArgs) -> Result<Finished, CliError> {
    Err(CliError::NotAvailable {
        what: "plera funnel",
        reason: WAITING,
    })
}
