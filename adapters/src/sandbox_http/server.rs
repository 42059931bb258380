//! `SandboxHttp`: the world's provider API and SMTP relay on 127.0.0.1, and its notifier.

use actix_web::{web, App, HttpServer};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use plera_domain::ids::{AccountId, MailboxId, ProviderAccountId};
use plera_domain::ports::InboundEvent;
use plera_domain::values::Tier;
use secrecy::SecretString;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use thiserror::Error;
use url::Url;

use super::api::{self, Api};
use super::mail::SandboxMail;
use super::notifier::{Delivery, DeliveryReport, Notifier};
use super::records::Records;
use super::smtp_sink::SmtpSink;
use crate::sandbox::SandboxWorld;
use crate::webhook::HostedAuthAnswer;

/// What the served sandbox needs to know.
#[derive(Clone)]
pub struct SandboxHttpConfig {
    /// The key clients must send in `X-API-KEY`.
    pub api_key: SecretString,
    /// The webhook endpoint's base URL (`http://127.0.0.1:port`), where notifications go.
    pub webhook_url: Url,
    /// The webhook's shared secret, sent with every notification.
    pub webhook_secret: SecretString,
    /// Each mailbox's address: mail from an address maps back to its mailbox.
    pub mailboxes: BTreeMap<MailboxId, String>,
}

impl fmt::Debug for SandboxHttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxHttpConfig")
            .field("webhook_url", &self.webhook_url.as_str())
            .field("mailboxes", &self.mailboxes)
            .finish_non_exhaustive()
    }
}

/// Misuse of the served sandbox.
#[derive(Debug, Error)]
pub enum SandboxHttpError {
    /// A socket could not be bound.
    #[error("sandbox server: {0}")]
    Io(#[from] std::io::Error),
    /// No hosted-auth link with this URL was handed out.
    #[error("no hosted-auth link {0}")]
    UnknownLink(String),
    /// The webhook endpoint did not take the completion.
    #[error("the hosted-auth completion was not acknowledged")]
    NotAcknowledged,
    /// The webhook answered without the connected account.
    #[error("the webhook refused the connection: {0}")]
    Refused(String),
    /// The account to reconnect is unknown.
    #[error("unknown sandbox account {0}")]
    UnknownAccount(String),
}

/// The sandbox world served as a provider API (HTTP) and a mail relay (SMTP).
pub struct SandboxHttp {
    api: Arc<Api>,
    api_addr: SocketAddr,
    smtp: SmtpSink,
    notifier: Notifier,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SandboxHttp {
    /// Starts the API and the relay on free ports of 127.0.0.1.
    pub async fn start(
        world: SandboxWorld,
        config: SandboxHttpConfig,
    ) -> Result<Self, SandboxHttpError> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let api_addr = listener.local_addr()?;
        let api = Arc::new(Api {
            world,
            records: Mutex::new(Records::default()),
            api_key: config.api_key.clone(),
            base_url: format!("http://{api_addr}"),
        });
        let data = web::Data::from(Arc::clone(&api));
        let server =
            HttpServer::new(move || App::new().app_data(data.clone()).configure(api::mount))
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .listen(listener)?
                .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        let mailboxes = config
            .mailboxes
            .iter()
            .map(|(mailbox, address)| (bare_address(address), mailbox.clone()))
            .collect();
        let smtp = SmtpSink::start(Arc::new(SandboxMail {
            api: Arc::clone(&api),
            mailboxes,
        }))
        .await?;
        let notifier = Notifier {
            api: Arc::clone(&api),
            webhook_base: Mutex::new(config.webhook_url.to_string()),
            secret: config.webhook_secret,
            http: reqwest::Client::new(),
        };
        Ok(Self {
            api,
            api_addr,
            smtp,
            notifier,
            handle,
            task,
        })
    }

    /// The provider API's base URL (for `ProviderConfig::base_url`).
    pub fn api_url(&self) -> Url {
        Url::parse(&format!("http://{}", self.api_addr)).expect("a socket address is a URL")
    }

    /// The relay's address (for `SmtpConfig`, with `SmtpSecurity::Plain`).
    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp.addr()
    }

    /// The world behind the API.
    pub fn world(&self) -> &SandboxWorld {
        &self.api.world
    }

    /// Connects a sandbox account known to the engine as `account` and to the API as `provider`
    /// (the set-up path that skips hosted auth, as the in-process harness does).
    pub fn add_account(&self, account: AccountId, provider: ProviderAccountId, tier: Tier, tz: Tz) {
        self.api
            .world
            .add_account_in(account.clone(), provider.clone(), tier, tz);
        self.api.records().accounts.insert(provider, account);
    }

    /// The user completes the hosted-auth page at `link_url` as LinkedIn account `provider`: the
    /// completion is POSTed to the link's `notify_url`, and the account the engine answers with
    /// joins the world (a reconnect renews the world's session first). Returns our account id.
    pub async fn complete_hosted_auth(
        &self,
        link_url: &str,
        provider: ProviderAccountId,
        tier: Tier,
        tz: Tz,
    ) -> Result<AccountId, SandboxHttpError> {
        let id = link_url.rsplit('/').next().unwrap_or_default().to_string();
        let link = self
            .api
            .records()
            .links
            .remove(&id)
            .ok_or_else(|| SandboxHttpError::UnknownLink(id.clone()))?;
        let (status, provider) = match &link.reconnect {
            Some(existing) => {
                let account = self
                    .api
                    .records()
                    .accounts
                    .get(existing)
                    .cloned()
                    .ok_or_else(|| SandboxHttpError::UnknownAccount(existing.to_string()))?;
                self.api
                    .world
                    .reconnect(&account)
                    .map_err(|_| SandboxHttpError::UnknownAccount(existing.to_string()))?;
                self.api.records().statuses.remove(existing);
                ("RECONNECTED", existing.clone())
            }
            None => ("CREATION_SUCCESS", provider),
        };
        let body = json!({"status": status, "account_id": provider, "name": link.name});
        let path = link
            .notify_url
            .strip_prefix(self.notifier.base().as_str())
            .map(str::to_owned);
        let answer = match path {
            Some(path) => self.notifier.post(&path, &body).await,
            None => self.post_absolute(&link.notify_url, &body).await,
        }
        .ok_or(SandboxHttpError::NotAcknowledged)?;
        let answer: HostedAuthAnswer =
            serde_json::from_value(answer).map_err(|e| SandboxHttpError::Refused(e.to_string()))?;
        let account = answer
            .account_id
            .map(AccountId::new)
            .ok_or_else(|| SandboxHttpError::Refused(answer.status.clone()))?;
        if link.reconnect.is_none() {
            self.add_account(account.clone(), provider, tier, tz);
        }
        Ok(account)
    }

    async fn post_absolute(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Option<serde_json::Value> {
        let notifier = Notifier {
            api: Arc::clone(&self.api),
            webhook_base: Mutex::new(url.to_string()),
            secret: self.notifier.secret.clone(),
            http: self.notifier.http.clone(),
        };
        notifier.post("", body).await
    }

    /// Delivers every notification due at or before `up_to` to the webhook endpoint.
    pub async fn deliver_due(&self, up_to: DateTime<Utc>) -> DeliveryReport {
        self.notifier.deliver_due(up_to).await
    }

    /// Delivers one notification the caller took from the world (so that it can look at it
    /// first, as the simulation does to schedule a user's reconnect).
    pub async fn deliver(&self, event: InboundEvent) -> Delivery {
        self.notifier.deliver(event).await
    }

    /// Sends notifications to another endpoint from now on (the endpoint was restarted on a new
    /// port).
    pub fn set_webhook_url(&self, url: &Url) {
        *self
            .notifier
            .webhook_base
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = url.to_string();
    }

    /// The user renews the session of `account` at the provider, outside hosted auth (the
    /// in-process harness's reconnect): the world's session and the status the API reports.
    pub fn renew_session(&self, account: &AccountId) -> Result<(), SandboxHttpError> {
        self.api
            .world
            .reconnect(account)
            .map_err(|_| SandboxHttpError::UnknownAccount(account.to_string()))?;
        let mut records = self.api.records();
        if let Some(provider) = records.provider_of(account) {
            records.statuses.remove(&provider);
        }
        Ok(())
    }

    /// The hosted-auth pages handed out and not completed yet, oldest first: what a user would
    /// have been sent to (tests complete them with [`complete_hosted_auth`](Self::complete_hosted_auth)).
    pub fn pending_hosted_auth(&self) -> Vec<String> {
        let records = self.api.records();
        let mut ids: Vec<&String> = records.links.keys().collect();
        ids.sort_by_key(|id| {
            id.trim_start_matches("link-")
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        });
        ids.into_iter()
            .map(|id| format!("{}/hosted/{id}", self.api.base_url.trim_end_matches('/')))
            .collect()
    }

    /// Stops the API and the relay.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
        self.smtp.stop();
    }
}

/// `Name <a@b>` → `a@b`, lower case.
fn bare_address(address: &str) -> String {
    let address = address.trim();
    let bare = match (address.rfind('<'), address.rfind('>')) {
        (Some(start), Some(end)) if start < end => &address[start + 1..end],
        _ => address,
    };
    bare.to_lowercase()
}
