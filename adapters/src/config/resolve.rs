//! From the file's strings to the checked model: secrets taken from the file or the
//! environment, addresses and URLs parsed, sender settings and plays checked, cross-references
//! (campaign → sender, mailbox) resolved, leads files read.

use chrono_tz::Tz;
use plera_actors::SenderSettings;
use plera_domain::ids::{CampaignId, MailboxId, ProviderAccountId, WorkspaceId};
use plera_domain::play::Play;
use plera_domain::quota::WorkingDays;
use plera_domain::values::{Limits, Tier, WorkingHours};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use url::Url;

use super::error::ConfigError;
use super::leads::read_leads;
use super::raw::{RawCampaign, RawConfig, RawSecret, RawSender, RawSmtp, RawWebhook};
use super::{CampaignConfig, MailboxConfig, SenderConfig, ServeConfig, WebhookSettings};
use crate::email::{SmtpConfig, SmtpSecurity};
use crate::provider::ProviderConfig;

/// Shortest webhook secret accepted: anything shorter could be guessed.
const MIN_WEBHOOK_SECRET: usize = 16;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

pub(super) fn resolve(raw: RawConfig, base: &Path, env: Env) -> Result<ServeConfig, ConfigError> {
    let workspace = raw.workspace.trim();
    if workspace.is_empty() {
        return Err(invalid("workspace", "is empty"));
    }
    let tick = seconds("engine.tick_seconds", raw.engine.tick_seconds, 5, 1..=3600)?;
    let working_days = working_days(raw.engine.working_days)?;
    let provider = provider(raw.provider, env)?;
    let webhook = webhook(raw.webhook, env)?;
    let raw_smtp = raw.smtp.ok_or_else(|| ConfigError::Missing {
        field: "[smtp]".into(),
    })?;
    let smtp_journal = raw_smtp.journal.as_ref().map(|p| base.join(p));
    let mut smtp = smtp(raw_smtp, env)?;

    let mut mailboxes = Vec::new();
    let mut mailbox_ids = BTreeSet::new();
    for m in raw.mailboxes {
        let id = m.id.trim().to_string();
        if id.is_empty() {
            return Err(invalid("mailbox.id", "is empty"));
        }
        if !mailbox_ids.insert(id.clone()) {
            return Err(ConfigError::Duplicate {
                what: "mailbox",
                id,
            });
        }
        let parsed: lettre::message::Mailbox = m.address.parse().map_err(|_| {
            invalid(
                format!("mailbox `{id}`: address"),
                format!("`{}` is not an email address", m.address),
            )
        })?;
        smtp = smtp.with_mailbox(MailboxId::new(id.clone()), m.address.clone());
        mailboxes.push(MailboxConfig {
            id: MailboxId::new(id),
            email: parsed.email.to_string(),
            from: m.address,
        });
    }

    let mut senders: Vec<SenderConfig> = Vec::new();
    for s in raw.senders {
        let sender = sender(s)?;
        if senders.iter().any(|other| other.name == sender.name) {
            return Err(ConfigError::Duplicate {
                what: "sender",
                id: sender.name,
            });
        }
        if let Some(provider) = &sender.provider_account_id {
            if senders
                .iter()
                .any(|other| other.provider_account_id.as_ref() == Some(provider))
            {
                return Err(ConfigError::Duplicate {
                    what: "provider account",
                    id: provider.to_string(),
                });
            }
        }
        senders.push(sender);
    }

    let mut campaigns: Vec<CampaignConfig> = Vec::new();
    for c in raw.campaigns {
        let campaign = campaign(c, base, &senders, &mailbox_ids)?;
        if campaigns.iter().any(|other| other.id == campaign.id) {
            return Err(ConfigError::Duplicate {
                what: "campaign",
                id: campaign.id.to_string(),
            });
        }
        campaigns.push(campaign);
    }

    Ok(ServeConfig {
        workspace: WorkspaceId::new(workspace),
        tick,
        working_days,
        provider,
        webhook,
        smtp,
        smtp_journal,
        mailboxes,
        senders,
        campaigns,
    })
}

fn seconds(
    field: &str,
    value: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    let value = value.unwrap_or(default);
    if !range.contains(&value) {
        return Err(invalid(
            field,
            format!(
                "{value} is not between {} and {}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(Duration::from_secs(value))
}

/// A secret from the file (`<field>`) or from the variable named by `<field>_env`.
fn secret(
    field: &str,
    literal: Option<RawSecret>,
    var: Option<String>,
    env: Env,
) -> Result<Option<SecretString>, ConfigError> {
    let value = match (literal, var) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Ambiguous {
                field: field.into(),
            })
        }
        (Some(RawSecret(value)), None) => value,
        (None, Some(var)) => match env(&var) {
            Some(value) if !value.is_empty() => SecretString::from(value),
            _ => {
                return Err(ConfigError::EnvUnset {
                    field: field.into(),
                    var,
                })
            }
        },
        (None, None) => return Ok(None),
    };
    if value.expose_secret().trim().is_empty() {
        return Err(invalid(field, "is empty"));
    }
    Ok(Some(value))
}

fn required_secret(
    field: &str,
    literal: Option<RawSecret>,
    var: Option<String>,
    env: Env,
) -> Result<SecretString, ConfigError> {
    secret(field, literal, var, env)?.ok_or_else(|| ConfigError::Missing {
        field: format!("{field} (or {field}_env)"),
    })
}

fn web_url(field: &str, text: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(text).map_err(|e| invalid(field, format!("`{text}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(field, format!("`{text}` is not an http(s) URL")));
    }
    Ok(url)
}

fn provider(raw: super::raw::RawProvider, env: Env) -> Result<ProviderConfig, ConfigError> {
    let base_url = web_url("provider.base_url", &raw.base_url)?;
    let api_key = required_secret("provider.api_key", raw.api_key, raw.api_key_env, env)?;
    if !api_key
        .expose_secret()
        .bytes()
        .all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(invalid(
            "provider.api_key",
            "holds characters an HTTP header cannot carry",
        ));
    }
    let timeout = seconds("provider.timeout_seconds", raw.timeout_seconds, 30, 1..=300)?;
    Ok(ProviderConfig::new(base_url, api_key).with_timeout(timeout))
}

fn webhook(raw: RawWebhook, env: Env) -> Result<WebhookSettings, ConfigError> {
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        invalid(
            "webhook.listen",
            format!(
                "`{}` is not an address and port (e.g. 127.0.0.1:8080)",
                raw.listen
            ),
        )
    })?;
    let public_url = raw
        .public_url
        .as_deref()
        .map(|u| web_url("webhook.public_url", u))
        .transpose()?;
    let secret = required_secret("webhook.secret", raw.secret, raw.secret_env, env)?;
    if secret.expose_secret().chars().count() < MIN_WEBHOOK_SECRET {
        return Err(invalid(
            "webhook.secret",
            format!("is shorter than {MIN_WEBHOOK_SECRET} characters"),
        ));
    }
    let poll = raw.poll_seconds.unwrap_or(300);
    let poll_every = match poll {
        0 => None,
        n => Some(seconds("webhook.poll_seconds", Some(n), 300, 10..=86_400)?),
    };
    Ok(WebhookSettings {
        listen,
        public_url,
        secret,
        poll_every,
    })
}

fn smtp(raw: RawSmtp, env: Env) -> Result<SmtpConfig, ConfigError> {
    if raw.host.trim().is_empty() {
        return Err(invalid("smtp.host", "is empty"));
    }
    let security = match raw.security.to_ascii_lowercase().as_str() {
        "tls" => SmtpSecurity::Tls,
        "starttls" => SmtpSecurity::StartTls,
        "plain" => SmtpSecurity::Plain,
        other => {
            return Err(invalid(
                "smtp.security",
                format!("`{other}` is not tls, starttls or plain"),
            ))
        }
    };
    let password = secret("smtp.password", raw.password, raw.password_env, env)?;
    let credentials = match (raw.username, password) {
        (Some(user), Some(password)) if !user.trim().is_empty() => Some((user, password)),
        (Some(_), Some(_)) => return Err(invalid("smtp.username", "is empty")),
        (Some(_), None) => {
            return Err(ConfigError::Missing {
                field: "smtp.password (or smtp.password_env), as smtp.username is set".into(),
            })
        }
        (None, Some(_)) => {
            return Err(ConfigError::Missing {
                field: "smtp.username, as a password is set".into(),
            })
        }
        (None, None) => None,
    };
    let mut config = SmtpConfig::new(raw.host, raw.port, security);
    config.credentials = credentials;
    config.timeout = seconds("smtp.timeout_seconds", raw.timeout_seconds, 30, 1..=300)?;
    if let Some(domain) = raw.message_id_domain {
        if domain.trim().is_empty() || domain.contains(['@', '<', '>', ' ']) {
            return Err(invalid(
                "smtp.message_id_domain",
                format!("`{domain}` is not a domain"),
            ));
        }
        config.message_id_domain = domain;
    }
    Ok(config)
}

fn sender(raw: RawSender) -> Result<SenderConfig, ConfigError> {
    let name = raw.name.trim().to_string();
    if name.is_empty() {
        return Err(invalid("sender.name", "is empty"));
    }
    let field = |what: &str| format!("sender `{name}`: {what}");
    let tier = match raw.tier.to_ascii_lowercase().replace('-', "_").as_str() {
        "free" => Tier::Free,
        "premium" => Tier::Premium,
        "sales_navigator" => Tier::SalesNavigator,
        other => {
            return Err(invalid(
                field("tier"),
                format!("`{other}` is not free, premium or sales_navigator"),
            ))
        }
    };
    let timezone: Tz = raw.timezone.parse().map_err(|_| {
        invalid(
            field("timezone"),
            format!("`{}` is not an IANA time zone", raw.timezone),
        )
    })?;
    let working_hours = raw
        .working_hours
        .split_once('-')
        .ok_or_else(|| "expected HH:MM-HH:MM".to_string())
        .and_then(|(start, end)| {
            WorkingHours::parse(start.trim(), end.trim()).map_err(|e| e.to_string())
        })
        .map_err(|reason| {
            invalid(
                field("working_hours"),
                format!("`{}`: {reason}", raw.working_hours),
            )
        })?;
    let limits = raw
        .limits
        .map(|l| Limits {
            daily_invites: l.daily_invites,
            daily_messages: l.daily_messages,
            weekly_invites: l.weekly_invites,
        })
        .map(|limits| {
            limits
                .validate()
                .map(|()| limits)
                .map_err(|e| invalid(field("limits"), e.to_string()))
        })
        .transpose()?;
    let provider_account_id = match raw.provider_account_id {
        Some(id) if id.trim().is_empty() => {
            return Err(invalid(field("provider_account_id"), "is empty"))
        }
        id => id.map(|id| ProviderAccountId::new(id.trim())),
    };
    Ok(SenderConfig {
        first_name: raw
            .first_name
            .filter(|f| !f.trim().is_empty())
            .unwrap_or_else(|| name.clone()),
        provider_account_id,
        settings: SenderSettings {
            tier,
            limits,
            timezone,
            working_hours,
            warm_up: raw.warm_up,
        },
        name,
    })
}

fn campaign(
    raw: RawCampaign,
    base: &Path,
    senders: &[SenderConfig],
    mailboxes: &BTreeSet<String>,
) -> Result<CampaignConfig, ConfigError> {
    let id = raw.id.trim().to_string();
    if id.is_empty() {
        return Err(invalid("campaign.id", "is empty"));
    }
    let play = match (raw.play, raw.play_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                format!("campaign `{id}`"),
                "give either play (a built-in) or play_file, not both",
            ))
        }
        (None, None) => {
            return Err(ConfigError::Missing {
                field: format!("campaign `{id}`: play (or play_file)"),
            })
        }
        (Some(name), None) => Play::builtin(&name).ok_or_else(|| {
            invalid(
                format!("campaign `{id}`: play"),
                format!("`{name}` is not a built-in play (linkedin-first, email-first)"),
            )
        })?,
        (None, Some(file)) => play_file(&id, &base.join(file))?,
    };
    for name in &raw.senders {
        if !senders.iter().any(|s| &s.name == name) {
            return Err(ConfigError::Unknown {
                campaign: id,
                what: "sender",
                id: name.clone(),
            });
        }
    }
    if let Some(mailbox) = &raw.mailbox {
        if !mailboxes.contains(mailbox) {
            return Err(ConfigError::Unknown {
                campaign: id,
                what: "mailbox",
                id: mailbox.clone(),
            });
        }
    }
    let leads = match &raw.leads {
        Some(file) => read_leads(&base.join(file))?,
        None => Vec::new(),
    };
    for lead in &leads {
        if let Some(sender) = &lead.sender {
            if !raw.senders.contains(sender) {
                return Err(invalid(
                    format!("campaign `{id}`: leads"),
                    format!(
                        "lead `{}` names sender `{sender}`, which the campaign does not use",
                        lead.id
                    ),
                ));
            }
        }
    }
    Ok(CampaignConfig {
        name: raw.name.unwrap_or_else(|| id.clone()),
        id: CampaignId::new(id),
        play,
        senders: raw.senders,
        mailbox: raw.mailbox.map(MailboxId::new),
        leads,
    })
}

fn play_file(campaign: &str, path: &Path) -> Result<Play, ConfigError> {
    let error = |reason: String| ConfigError::Play {
        campaign: campaign.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    let play = if is_json {
        Play::from_json(&text)
    } else {
        Play::from_toml(&text)
    };
    play.map_err(|e| error(e.to_string()))
}

/// `engine.working_days`: day names (`mon` or `monday`, any case), Monday to Friday when absent.
fn working_days(days: Option<Vec<String>>) -> Result<WorkingDays, ConfigError> {
    let Some(days) = days else {
        return Ok(WorkingDays::default());
    };
    let field = "engine.working_days";
    let parsed = days
        .iter()
        .map(|d| {
            d.trim()
                .parse::<chrono::Weekday>()
                .map_err(|_| invalid(field, format!("`{d}` is not a day of the week")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    WorkingDays::new(parsed).map_err(|e| invalid(field, e.to_string()))
}
