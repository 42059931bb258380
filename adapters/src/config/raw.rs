//! The file's shape, as serde reads it: strings and numbers, checked and turned into the model
//! by `resolve`. Unknown keys are refused, so a typo is an error rather than a silent default.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;

/// A secret written in the file: wrapped as soon as it is read, so no plain copy lingers.
pub(super) struct RawSecret(pub SecretString);

impl<'de> Deserialize<'de> for RawSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| RawSecret(SecretString::from(s)))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub workspace: String,
    #[serde(default)]
    pub engine: RawEngine,
    pub provider: RawProvider,
    pub webhook: RawWebhook,
    pub smtp: Option<RawSmtp>,
    #[serde(default, rename = "mailbox")]
    pub mailboxes: Vec<RawMailbox>,
    #[serde(default, rename = "sender")]
    pub senders: Vec<RawSender>,
    #[serde(default, rename = "campaign")]
    pub campaigns: Vec<RawCampaign>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEngine {
    pub tick_seconds: Option<u64>,
    pub working_days: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    pub base_url: String,
    pub api_key: Option<RawSecret>,
    pub api_key_env: Option<String>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub listen: String,
    pub public_url: Option<String>,
    pub secret: Option<RawSecret>,
    pub secret_env: Option<String>,
    pub poll_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    pub host: String,
    pub port: u16,
    pub security: String,
    pub username: Option<String>,
    pub password: Option<RawSecret>,
    pub password_env: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub journal: Option<PathBuf>,
    pub message_id_domain: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMailbox {
    pub id: String,
    pub address: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSender {
    pub name: String,
    pub first_name: Option<String>,
    pub provider_account_id: Option<String>,
    pub tier: String,
    pub timezone: String,
    pub working_hours: String,
    #[serde(default)]
    pub warm_up: bool,
    pub limits: Option<RawLimits>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub daily_invites: u32,
    pub daily_messages: u32,
    pub weekly_invites: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCampaign {
    pub id: String,
    pub name: Option<String>,
    pub play: Option<String>,
    pub play_file: Option<PathBuf>,
    #[serde(default)]
    pub senders: Vec<String>,
    pub mailbox: Option<String>,
    pub leads: Option<PathBuf>,
}
