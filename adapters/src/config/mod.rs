//! `plera.toml`: what `plera serve` runs. The provider (base URL, API key), the webhook endpoint
//! (listen address, public URL, shared secret, polling fallback), the SMTP relay and its
//! mailboxes, the senders (already connected at the provider, or connected through hosted auth)
//! and the campaigns (a built-in play or a play file, the senders and mailbox they use, a leads
//! file). `examples/plera.toml` is a commented sample.
//!
//! Secrets (API key, webhook secret, SMTP password) are written in the file or, better, named
//! by the environment variable that holds them (`api_key_env = "PLERA_PROVIDER_KEY"`). They are
//! `SecretString`s from the moment they are read: no `Debug` output or error shows them.
//! Relative paths (play files, leads files, the SMTP journal) are relative to the config file.

mod error;
mod leads;
mod raw;
mod resolve;

pub use error::ConfigError;
pub use leads::{parse_leads, read_leads, LeadRow};

use plera_actors::SenderSettings;
use plera_domain::ids::{CampaignId, MailboxId, ProviderAccountId, WorkspaceId};
use plera_domain::play::Play;
use plera_domain::quota::WorkingDays;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

use crate::email::SmtpConfig;
use crate::provider::ProviderConfig;

/// A checked `plera.toml`.
#[derive(Debug)]
pub struct ServeConfig {
    /// The workspace every sender and campaign belongs to.
    pub workspace: WorkspaceId,
    /// How often the engine looks for due work.
    pub tick: Duration,
    /// The days senders act on (Monday to Friday unless the file says otherwise).
    pub working_days: WorkingDays,
    /// The provider's API.
    pub provider: ProviderConfig,
    /// The webhook endpoint and the polling fallback.
    pub webhook: WebhookSettings,
    /// The SMTP relay, with every mailbox's `From` address.
    pub smtp: SmtpConfig,
    /// Where the record of accepted mail is kept across restarts (what reconciliation reads).
    pub smtp_journal: Option<PathBuf>,
    /// The mailboxes, in file order.
    pub mailboxes: Vec<MailboxConfig>,
    /// The senders, in file order.
    pub senders: Vec<SenderConfig>,
    /// The campaigns, in file order.
    pub campaigns: Vec<CampaignConfig>,
}

/// The webhook endpoint.
#[derive(Debug)]
pub struct WebhookSettings {
    /// Where it listens.
    pub listen: SocketAddr,
    /// The base URL the provider reaches it at (hosted-auth completions are sent to
    /// `<public_url>/webhooks/linkedin/hosted-auth`); by default `http://<listen address>`.
    pub public_url: Option<Url>,
    /// The shared secret the provider sends with every notification.
    pub secret: SecretString,
    /// How often the polling fallback asks the provider what notifications may have missed;
    /// `None` turns it off.
    pub poll_every: Option<Duration>,
}

/// A mailbox the email steps send from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxConfig {
    /// Its id (campaigns name it).
    pub id: MailboxId,
    /// Its `From` header (`Name <a@b>` or `a@b`).
    pub from: String,
    /// The bare address (`a@b`), as the engine records it.
    pub email: String,
}

/// A LinkedIn sender account.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderConfig {
    /// Its name in the file; also the owner recorded when it is connected, which is how a
    /// restarted `serve` recognises it.
    pub name: String,
    /// The `{{sender_first_name}}` of its leads' templates.
    pub first_name: String,
    /// The provider's id of the account when it is connected at the provider already; `None`
    /// to connect it through the provider's hosted-auth page.
    pub provider_account_id: Option<ProviderAccountId>,
    /// Tier, limits, time zone, working hours, warm-up.
    pub settings: SenderSettings,
}

/// A campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignConfig {
    /// Its id.
    pub id: CampaignId,
    /// Display name.
    pub name: String,
    /// The play it runs.
    pub play: Play,
    /// The names of the senders whose quota it uses.
    pub senders: Vec<String>,
    /// The mailbox of its email steps.
    pub mailbox: Option<MailboxId>,
    /// The leads to enroll (each once: a restart does not enroll them again).
    pub leads: Vec<LeadRow>,
}

impl ServeConfig {
    /// Reads and checks the file at `path`, taking secrets named by environment variables from
    /// the process's environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path, &|var| std::env::var(var).ok())
    }

    /// Checks `text`, the contents of the file at `path` (which names it in errors and anchors
    /// relative paths); `env` answers for environment variables.
    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            line: e
                .span()
                .and_then(|span| text.get(..span.start))
                .map(|before| before.matches('\n').count() + 1)
                .unwrap_or(0),
            message: e.message().to_string(),
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        resolve::resolve(raw, base, env)
    }

    /// The sender called `name`.
    pub fn sender(&self, name: &str) -> Option<&SenderConfig> {
        self.senders.iter().find(|s| s.name == name)
    }
}
