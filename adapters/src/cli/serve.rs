//! `plera serve --config plera.toml`: the engine on the system clock against a real provider.
//!
//! It opens the database, builds the engine over `HttpLinkedIn` and `SmtpMailbox` with
//! auto-tick, serves the webhook endpoint and starts the polling fallback, then brings the
//! workspace to what the file describes, again every few seconds until it is there: mailboxes
//! registered, senders connected (directly when the provider account is named, otherwise
//! through a hosted-auth link it prints), campaigns created once their senders are connected,
//! their leads enrolled once each. A sender whose session expires gets a reconnect link. A
//! restart recognises what is done already (senders by provider account or owner, campaigns by
//! id, leads by their sequence), so it is safe to run again on the same database.
//!
//! SIGTERM or Ctrl-C stops it: no new round starts, the webhook endpoint finishes the requests
//! in flight, the engine finishes the message it is handling, the database is closed; exit 0.

use chrono::{DateTime, Utc};
use plera_actors::{
    CampaignSpec, Engine, EngineError, EnrollOptions, LeadSpec, SenderSettings, SystemClock,
};
use plera_domain::campaign::CampaignError;
use plera_domain::ids::{AccountId, OwnerId, SequenceId, WorkspaceId};
use plera_domain::ports::Clock;
use plera_domain::quota::QuotaPolicy;
use plera_domain::sender::SenderStatus;
use plera_domain::values::{Tier, WorkingHours};
use plera_domain::workspace::WorkspaceError;
use secrecy::SecretString;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use url::Url;

use super::args::ServeArgs;
use super::db;
use super::error::CliError;
use super::output::Output;
use super::Finished;
use crate::config::{CampaignConfig, ConfigError, SenderConfig, ServeConfig};
use crate::email::{SmtpMailbox, SmtpSetupError};
use crate::provider::{
    AccountDirectory, HostedAuthKind, HostedAuthRequest, HttpLinkedIn, KnownAccount, LogAccounts,
    ProviderSetupError,
};
use crate::store::Store;
use crate::webhook::{
    ExpectedConnections, Poller, PollerConfig, RunningWebhooks, WebhookConfig, HOSTED_AUTH_PATH,
};

/// How often the workspace is brought closer to the file (hosted-auth completions, expired
/// sessions, campaigns whose senders were missing).
const ROUND: Duration = Duration::from_secs(5);

/// Why `plera serve` could not start or had to stop.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The configuration file is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The provider client could not be built.
    #[error("provider: {0}")]
    Provider(#[from] ProviderSetupError),
    /// The SMTP mailbox could not be built.
    #[error("smtp: {0}")]
    Smtp(#[from] SmtpSetupError),
    /// The webhook endpoint could not listen.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Signal handlers could not be installed.
    #[error("cannot watch for signals: {0}")]
    Signals(String),
    /// The engine refused what the file asks for, or failed.
    #[error("{what}: {source}")]
    Engine {
        /// What was being done.
        what: String,
        /// The engine's error.
        source: EngineError,
    },
}

fn engine_error(what: impl Into<String>) -> impl FnOnce(EngineError) -> ServeError {
    let what = what.into();
    move |source| ServeError::Engine { what, source }
}

/// Runs `plera serve` until SIGTERM or Ctrl-C.
pub async fn run(url: &str, args: &ServeArgs, out: Output) -> Result<Finished, CliError> {
    // Listening first: a signal during start-up still ends the process cleanly.
    let mut shutdown = Shutdown::listen()?;
    let config = ServeConfig::load(&args.config).map_err(ServeError::from)?;
    let store = db::open(url).await?;
    let server = match Server::start(&config, &store, out).await {
        Ok(server) => server,
        Err(e) => {
            store.close().await;
            return Err(e.into());
        }
    };
    let outcome = tokio::select! {
        outcome = server.keep_up(&config, out) => outcome,
        () = shutdown.wait() => Ok(()),
    };
    server.stop().await;
    store.close().await;
    out.human("plera serve: stopped");
    outcome?;
    Ok(Finished::Ok)
}

/// SIGTERM and SIGINT (Ctrl-C), watched from the moment `listen` returns.
struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn listen() -> Result<Self, ServeError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let watch = |kind| signal(kind).map_err(|e| ServeError::Signals(e.to_string()));
            Ok(Self {
                term: watch(SignalKind::terminate())?,
                interrupt: watch(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = self.interrupt.recv() => tracing::info!("SIGINT: stopping"),
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Settings of a hosted-auth completion nobody announced (a link handed out by an earlier
/// process): the most careful ones, since the account is unknown.
fn unannounced_settings() -> SenderSettings {
    SenderSettings {
        tier: Tier::Free,
        limits: None,
        timezone: chrono_tz::UTC,
        working_hours: WorkingHours::default(),
        warm_up: true,
    }
}

/// The running parts.
struct Server {
    engine: Engine,
    linkedin: Arc<HttpLinkedIn>,
    accounts: Arc<LogAccounts>,
    expected: ExpectedConnections,
    webhooks: RunningWebhooks,
    notify_url: Url,
    poller: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(config: &ServeConfig, store: &Store, out: Output) -> Result<Self, ServeError> {
        let log = store.event_log();
        let accounts = Arc::new(LogAccounts::new(Arc::clone(&log)));
        let linkedin = Arc::new(
            HttpLinkedIn::new(config.provider.clone())?
                .with_accounts(accounts.clone() as Arc<dyn AccountDirectory>),
        );
        let mut email = SmtpMailbox::new(config.smtp.clone())?;
        if let Some(journal) = &config.smtp_journal {
            email = email.with_journal(journal.clone()).await?;
        }
        let listen = config.webhook.listen;
        let listener = TcpListener::bind(listen).map_err(|e| ServeError::Listen {
            addr: listen.to_string(),
            reason: e.to_string(),
        })?;
        let engine = Engine::builder()
            .event_log(log)
            .lead_directory(store.lead_directory())
            .linkedin(linkedin.clone())
            .email(Arc::new(email))
            .auto_tick(config.tick)
            .quota_policy(QuotaPolicy {
                working_days: config.working_days,
                ..QuotaPolicy::default()
            })
            .build()
            .await
            .map_err(engine_error("the engine did not start"))?;
        let expected = ExpectedConnections::default();
        let mut hooks = WebhookConfig::new(
            config.webhook.secret.clone(),
            accounts.clone(),
            unannounced_settings(),
        );
        hooks.expected = expected.clone();
        let webhooks = match RunningWebhooks::serve(listener, engine.clone(), hooks) {
            Ok(webhooks) => webhooks,
            Err(e) => {
                engine.shutdown().await;
                return Err(ServeError::Listen {
                    addr: listen.to_string(),
                    reason: e.to_string(),
                });
            }
        };
        let base = match &config.webhook.public_url {
            Some(url) => url.clone(),
            None => Url::parse(&webhooks.url()).expect("a socket address is a URL"),
        };
        let notify_url = base
            .join(HOSTED_AUTH_PATH)
            .expect("a path joins any http URL");
        let poller = config.webhook.poll_every.map(|every| {
            Arc::new(Poller::new(
                linkedin.clone(),
                engine.clone(),
                accounts.clone(),
                Arc::new(SystemClock),
                PollerConfig::default(),
            ))
            .spawn(every)
        });
        tracing::info!(
            webhooks = %webhooks.url(),
            provider = %config.provider.base_url,
            workspace = %config.workspace,
            "plera serve started"
        );
        if out.json {
            let _ = out.json(&json!({"event": "listening", "webhooks": webhooks.url()}));
        } else {
            eprintln!(
                "plera serve: webhooks on {}, provider {}, workspace {}",
                webhooks.url(),
                config.provider.base_url,
                config.workspace
            );
        }
        Ok(Self {
            engine,
            linkedin,
            accounts,
            expected,
            webhooks,
            notify_url,
            poller,
        })
    }

    /// Brings the workspace to the file, then keeps at it every `ROUND`; returns only on an
    /// error that retrying cannot fix.
    async fn keep_up(&self, config: &ServeConfig, out: Output) -> Result<(), ServeError> {
        let mut state = Progress::default();
        self.register_mailboxes(config).await?;
        let mut every = tokio::time::interval(ROUND);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            self.round(config, &mut state, out).await?;
        }
    }

    async fn register_mailboxes(&self, config: &ServeConfig) -> Result<(), ServeError> {
        for mailbox in &config.mailboxes {
            match self
                .engine
                .register_mailbox(&config.workspace, &mailbox.id, &mailbox.email)
                .await
            {
                Ok(()) => tracing::info!(mailbox = %mailbox.id, "mailbox registered"),
                Err(EngineError::Workspace(WorkspaceError::MailboxExists(_))) => {}
                Err(e) => return Err(engine_error(format!("mailbox `{}`", mailbox.id))(e)),
            }
        }
        Ok(())
    }

    async fn round(
        &self,
        config: &ServeConfig,
        state: &mut Progress,
        out: Output,
    ) -> Result<(), ServeError> {
        let known = match self.accounts.of_workspace(&config.workspace).await {
            Ok(known) => known,
            Err(error) => {
                tracing::warn!(%error, "the account directory could not be read; next round");
                return Ok(());
            }
        };
        for sender in &config.senders {
            if !state.connected.contains_key(&sender.name) {
                self.connect(config, sender, &known, state, out).await?;
            }
        }
        for campaign in &config.campaigns {
            if !state.started.contains(campaign.id.as_str()) {
                self.start_campaign(config, campaign, state, out).await?;
            }
        }
        self.offer_reconnects(config, &known, state, out).await;
        Ok(())
    }

    /// Finds `sender` among the connected accounts, or connects it: directly when the file
    /// names its provider account, otherwise by handing out a hosted-auth link.
    async fn connect(
        &self,
        config: &ServeConfig,
        sender: &SenderConfig,
        known: &[KnownAccount],
        state: &mut Progress,
        out: Output,
    ) -> Result<(), ServeError> {
        let owner = OwnerId::new(sender.name.as_str());
        let found = known
            .iter()
            .rev()
            .find(|k| match &sender.provider_account_id {
                Some(provider) => &k.provider == provider,
                None => k.owner.as_ref() == Some(&owner),
            });
        if let Some(account) = found {
            if account.active {
                tracing::info!(sender = %sender.name, account = %account.account, "sender connected");
                state
                    .connected
                    .insert(sender.name.clone(), account.account.clone());
            } else if state.warned.insert(sender.name.clone()) {
                tracing::warn!(
                    sender = %sender.name,
                    "the sender was disconnected; plera serve leaves it so (remove it from the file, or connect it under another name)"
                );
            }
            return Ok(());
        }
        let ws = &config.workspace;
        match &sender.provider_account_id {
            Some(provider) => {
                let what = || format!("connecting sender `{}`", sender.name);
                let link = self
                    .engine
                    .start_connection(ws, &owner, None)
                    .await
                    .map_err(engine_error(what()))?;
                let account = self
                    .engine
                    .complete_connection(&link.state, provider, sender.settings.clone())
                    .await
                    .map_err(engine_error(what()))?;
                tracing::info!(sender = %sender.name, %account, "sender connected");
                state.connected.insert(sender.name.clone(), account);
            }
            None => {
                let now = SystemClock.now();
                if state
                    .links
                    .get(&sender.name)
                    .is_some_and(|until| *until > now)
                {
                    return Ok(());
                }
                let until = self
                    .hand_out_link(
                        ws,
                        &sender.name,
                        HostedAuthKind::Create,
                        None,
                        Some(sender),
                        out,
                    )
                    .await
                    .map_err(engine_error(format!("connecting sender `{}`", sender.name)))?;
                if let Some(until) = until {
                    state.links.insert(sender.name.clone(), until);
                }
            }
        }
        Ok(())
    }

    /// Creates the campaign once all its senders are connected, and enrolls its leads.
    async fn start_campaign(
        &self,
        config: &ServeConfig,
        campaign: &CampaignConfig,
        state: &mut Progress,
        out: Output,
    ) -> Result<(), ServeError> {
        let Some(senders) = campaign
            .senders
            .iter()
            .map(|name| state.connected.get(name).cloned())
            .collect::<Option<Vec<AccountId>>>()
        else {
            return Ok(());
        };
        let ws = &config.workspace;
        let what = || format!("campaign `{}`", campaign.id);
        match self
            .engine
            .create_campaign(
                ws,
                CampaignSpec {
                    id: Some(campaign.id.clone()),
                    name: campaign.name.clone(),
                    play: campaign.play.clone(),
                    senders: senders.clone(),
                    mailbox: campaign.mailbox.clone(),
                },
            )
            .await
        {
            Ok(_) => tracing::info!(campaign = %campaign.id, "campaign created"),
            // Created by an earlier run; what the file says now is not applied to it.
            Err(EngineError::Campaign(CampaignError::AlreadyExists)) => {}
            Err(e) => return Err(engine_error(what())(e)),
        }
        let mut tally = Tally::default();
        for (i, lead) in campaign.leads.iter().enumerate() {
            let sequence = SequenceId::of(ws, &campaign.id, &lead.id);
            let enrolled = self
                .engine
                .lead_sequences(ws, &lead.id)
                .await
                .map_err(engine_error(what()))?
                .iter()
                .any(|(id, _)| *id == sequence);
            if enrolled {
                tally.before += 1;
                continue;
            }
            let name = lead.sender.clone().or_else(|| {
                campaign
                    .senders
                    .get(i % campaign.senders.len().max(1))
                    .cloned()
            });
            let mut profile = lead.profile.clone();
            if let Some(sender) = name.as_deref().and_then(|n| config.sender(n)) {
                profile = profile.with_var("sender_first_name", &sender.first_name);
            }
            let spec = LeadSpec {
                lead_id: lead.id.clone(),
                profile,
                connection_degree: lead.degree,
                sender: name.and_then(|n| state.connected.get(&n).cloned()),
            };
            match self
                .engine
                .enroll(ws, &campaign.id, spec, EnrollOptions::default())
                .await
            {
                Ok(_) => tally.now += 1,
                Err(
                    e @ (EngineError::AlreadyInSequence(_)
                    | EngineError::PreviouslyReplied(_)
                    | EngineError::OptedOut(_)),
                ) => {
                    tracing::info!(campaign = %campaign.id, lead = %lead.id, reason = %e, "lead not enrolled");
                    tally.refused += 1;
                }
                Err(e) => return Err(engine_error(what())(e)),
            }
        }
        state.started.insert(campaign.id.to_string());
        if out.json {
            let _ = out.json(&json!({
                "event": "campaign_running", "campaign": campaign.id.as_str(),
                "enrolled": tally.now, "enrolled_before": tally.before, "refused": tally.refused,
            }));
        } else {
            eprintln!(
                "plera serve: campaign {} running: {} leads enrolled now, {} before, {} refused",
                campaign.id, tally.now, tally.before, tally.refused
            );
        }
        Ok(())
    }

    /// Hands out a reconnect link for each sender whose session expired (once per link's
    /// lifetime). Failures wait for the next round.
    async fn offer_reconnects(
        &self,
        config: &ServeConfig,
        known: &[KnownAccount],
        state: &mut Progress,
        out: Output,
    ) {
        let now = SystemClock.now();
        let ws = &config.workspace;
        for (name, account) in &state.connected {
            if state
                .reconnect_links
                .get(account)
                .is_some_and(|until| *until > now)
            {
                continue;
            }
            let Ok(view) = self.engine.sender_status(ws, account).await else {
                continue;
            };
            if view.status != SenderStatus::NeedsReconnect {
                continue;
            }
            let Some(provider) = known
                .iter()
                .find(|k| &k.account == account)
                .map(|k| k.provider.clone())
            else {
                continue;
            };
            let kind = HostedAuthKind::Reconnect(provider);
            match self
                .hand_out_link(ws, name, kind, Some(account), None, out)
                .await
            {
                Ok(Some(until)) => {
                    state.reconnect_links.insert(account.clone(), until);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(sender = %name, %error, "no reconnect link; next round")
                }
            }
        }
    }

    /// Starts a connection (`reconnect`: of that sender) and asks the provider for its
    /// hosted-auth page, which the user is told about. A new sender's settings are announced to
    /// the webhook. `Ok(None)`: the provider gave no page this time (warned; the next round
    /// asks again); otherwise when the link stops working.
    async fn hand_out_link(
        &self,
        ws: &WorkspaceId,
        name: &str,
        kind: HostedAuthKind,
        reconnect: Option<&AccountId>,
        sender: Option<&SenderConfig>,
        out: Output,
    ) -> Result<Option<DateTime<Utc>>, EngineError> {
        let link = self
            .engine
            .start_connection(ws, &OwnerId::new(name), reconnect)
            .await?;
        if let Some(sender) = sender {
            self.expected.expect(
                &link.state,
                sender.settings.clone(),
                link.expires_at,
                SystemClock.now(),
            );
        }
        let what = match kind {
            HostedAuthKind::Create => "connect",
            HostedAuthKind::Reconnect(_) => "reconnect",
        };
        let page = self
            .linkedin
            .hosted_auth_link(HostedAuthRequest {
                kind,
                state: SecretString::from(link.state.clone()),
                notify_url: self.notify_url.clone(),
                expires_at: link.expires_at,
            })
            .await;
        match page {
            Ok(page) => {
                announce_link(out, name, what, &page, link.expires_at);
                Ok(Some(link.expires_at))
            }
            Err(error) => {
                self.expected.forget(&link.state);
                tracing::warn!(sender = %name, %error, "no hosted-auth link; next round");
                Ok(None)
            }
        }
    }

    async fn stop(self) {
        if let Some(poller) = self.poller {
            poller.abort();
            let _ = poller.await;
        }
        self.webhooks.stop().await;
        self.engine.shutdown().await;
    }
}

/// Tells the user where to go: the link is for a person, not a log line.
fn announce_link(out: Output, sender: &str, what: &str, url: &str, until: DateTime<Utc>) {
    if out.json {
        let _ = out.json(&json!({
            "event": "hosted_auth", "action": what, "sender": sender, "url": url,
            "expires_at": until,
        }));
    } else {
        eprintln!(
            "plera serve: sender {sender}: {what} the LinkedIn account at {url} (until {})",
            until.format("%H:%M UTC")
        );
    }
}

/// What the rounds achieved so far.
#[derive(Default)]
struct Progress {
    /// Sender name → its account.
    connected: BTreeMap<String, AccountId>,
    /// Sender name → when its hosted-auth link expires.
    links: BTreeMap<String, DateTime<Utc>>,
    /// Account → when its reconnect link expires.
    reconnect_links: BTreeMap<AccountId, DateTime<Utc>>,
    /// Campaigns created and enrolled.
    started: BTreeSet<String>,
    /// Disconnected senders already warned about.
    warned: BTreeSet<String>,
}

#[derive(Default)]
struct Tally {
    now: u32,
    before: u32,
    refused: u32,
}
