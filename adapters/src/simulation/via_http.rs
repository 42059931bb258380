//! `plera simulate --via-http`: the same simulation with every edge on the wire. The sandbox
//! world is served as the provider's REST API and an SMTP relay on 127.0.0.1 (ephemeral ports);
//! the engine talks to it through `HttpLinkedIn` and `SmtpMailbox`; the world's notifications
//! come back as HTTP POSTs to the webhook endpoint, which hands them to the engine.
//!
//! What stays as in process: the scenario, the virtual clock, the simulated users (they connect
//! senders and renew sessions directly, as the in-process runner does), crashes, the ledger and
//! the audit. A crash rebuilds what a real process restart would: the provider client (its
//! memory of which account sent which step is lost, reconciliation asks the provider), the
//! account directory and the webhook endpoint (on a new port, which the provider is told). The
//! SMTP mailbox survives, standing for its journal file.
//!
//! Determinism: the event log and the ledger are the same for a seed, run after run, as long as
//! no call times out for real (30 s per provider call on loopback): the world draws its
//! behaviour from (seed, entity, step), notifications are delivered one at a time in the
//! world's order, and sends that run concurrently in one tick are to different senders, so
//! their arrival order changes nothing.

use async_trait::async_trait;
use chrono_tz::Tz;
use plera_actors::store::EventLog;
use plera_actors::{Engine, SenderSettings, VirtualClock};
use plera_domain::ids::{AccountId, ProviderAccountId, WorkspaceId};
use plera_domain::ports::InboundEvent;
use plera_domain::seed::mix;
use plera_domain::values::{Tier, WorkingHours};
use secrecy::SecretString;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

use super::edges::{Edges, Gateways};
use super::scenario::Scenario;
use super::SimulationError;
use crate::email::{SmtpConfig, SmtpMailbox, SmtpSecurity};
use crate::provider::{HttpLinkedIn, LogAccounts, ProviderConfig};
use crate::sandbox::SandboxWorld;
use crate::sandbox_http::{Delivery, SandboxHttp, SandboxHttpConfig};
use crate::webhook::{RunningWebhooks, WebhookConfig};

/// How long one provider call may take before its outcome counts as unknown. Loopback answers
/// in milliseconds; a call this slow means the machine stalled, and the run is then no longer
/// guaranteed to repeat exactly.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The credentials of one simulated run: the provider's API key, the webhook's shared secret
/// and the SMTP login. Drawn from the seed, so a test knows what must never show in the logs;
/// they guard nothing but loopback ports that live as long as the run.
pub struct SimulatedSecrets {
    /// The provider's API key.
    pub api_key: SecretString,
    /// The webhook endpoint's shared secret.
    pub webhook_secret: SecretString,
    /// The SMTP user name (not secret).
    pub smtp_user: String,
    /// The SMTP password.
    pub smtp_password: SecretString,
}

impl SimulatedSecrets {
    /// The secrets of the run with `seed`.
    pub fn for_seed(seed: u64) -> Self {
        let draw = |label: &str| {
            format!(
                "{:016x}{:016x}",
                mix(seed, &["via-http", label, "1"]),
                mix(seed, &["via-http", label, "2"])
            )
        };
        Self {
            api_key: SecretString::from(format!("sk-sim-{}", draw("api-key"))),
            webhook_secret: SecretString::from(format!("whsec-{}", draw("webhook"))),
            smtp_user: "plera-simulation".into(),
            smtp_password: SecretString::from(format!("smtp-{}", draw("smtp"))),
        }
    }
}

/// The simulation's edges over HTTP, SMTP and webhooks.
pub struct OverHttp {
    secrets: SimulatedSecrets,
    running: Option<Running>,
}

struct Running {
    sandbox: SandboxHttp,
    clock: Arc<VirtualClock>,
    smtp: Arc<SmtpMailbox>,
    /// Bound at `open` so the provider knows the endpoint before the first engine exists.
    listener: Option<TcpListener>,
    /// The directory of the engine being built (the webhook endpoint resolves accounts with it).
    accounts: Option<Arc<LogAccounts>>,
    webhooks: Option<RunningWebhooks>,
}

impl OverHttp {
    /// Edges for the run with `seed` (its credentials are [`SimulatedSecrets::for_seed`]).
    pub fn new(seed: u64) -> Self {
        Self {
            secrets: SimulatedSecrets::for_seed(seed),
            running: None,
        }
    }

    fn running(&self) -> Result<&Running, SimulationError> {
        self.running.as_ref().ok_or_else(not_open)
    }

    fn running_mut(&mut self) -> Result<&mut Running, SimulationError> {
        self.running.as_mut().ok_or_else(not_open)
    }
}

fn not_open() -> SimulationError {
    SimulationError::Edge("the HTTP edges were used before they were opened".into())
}

fn edge_error(what: &str, e: impl std::fmt::Display) -> SimulationError {
    SimulationError::Edge(format!("{what}: {e}"))
}

fn loopback() -> Result<(TcpListener, Url), SimulationError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| edge_error("webhook endpoint", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| edge_error("webhook endpoint", e))?;
    let url = Url::parse(&format!("http://{addr}")).map_err(|e| edge_error("webhook URL", e))?;
    Ok((listener, url))
}

/// Settings the webhook would give a sender connected through hosted auth. The simulated users
/// connect their senders directly with their own settings, so these are never used.
fn unused_hosted_auth_settings() -> SenderSettings {
    SenderSettings {
        tier: Tier::Free,
        limits: None,
        timezone: Tz::UTC,
        working_hours: WorkingHours::default(),
        warm_up: true,
    }
}

#[async_trait]
impl Edges for OverHttp {
    async fn open(
        &mut self,
        world: &SandboxWorld,
        clock: &Arc<VirtualClock>,
        scenario: &Scenario,
    ) -> Result<(), SimulationError> {
        let (listener, webhook_url) = loopback()?;
        let sandbox = SandboxHttp::start(
            world.clone(),
            SandboxHttpConfig {
                api_key: self.secrets.api_key.clone(),
                webhook_url,
                webhook_secret: self.secrets.webhook_secret.clone(),
                mailboxes: scenario.mailboxes.iter().cloned().collect(),
            },
        )
        .await
        .map_err(|e| edge_error("the served sandbox", e))?;
        let mut smtp =
            SmtpConfig::new("127.0.0.1", sandbox.smtp_addr().port(), SmtpSecurity::Plain);
        smtp.credentials = Some((
            self.secrets.smtp_user.clone(),
            self.secrets.smtp_password.clone(),
        ));
        smtp.timeout = CALL_TIMEOUT;
        for (mailbox, address) in &scenario.mailboxes {
            smtp = smtp.with_mailbox(mailbox.clone(), address.clone());
        }
        let smtp = match SmtpMailbox::new(smtp) {
            Ok(mailbox) => mailbox.with_clock(clock.clone()),
            Err(e) => {
                sandbox.stop().await;
                return Err(edge_error("SMTP mailbox", e));
            }
        };
        tracing::info!(
            api = %sandbox.api_url(),
            smtp = %sandbox.smtp_addr(),
            "the sandbox is served over HTTP and SMTP"
        );
        self.running = Some(Running {
            sandbox,
            clock: clock.clone(),
            smtp: Arc::new(smtp),
            listener: Some(listener),
            accounts: None,
            webhooks: None,
        });
        Ok(())
    }

    fn gateways(&mut self, log: Arc<dyn EventLog>) -> Result<Gateways, SimulationError> {
        let api_key = self.secrets.api_key.clone();
        let running = self.running_mut()?;
        let accounts = Arc::new(LogAccounts::new(log));
        let provider =
            ProviderConfig::new(running.sandbox.api_url(), api_key).with_timeout(CALL_TIMEOUT);
        let linkedin = HttpLinkedIn::new(provider)
            .map_err(|e| edge_error("provider client", e))?
            .with_clock(running.clock.clone())
            .with_accounts(accounts.clone());
        running.accounts = Some(accounts);
        Ok(Gateways {
            linkedin: Arc::new(linkedin),
            email: running.smtp.clone(),
        })
    }

    async fn attach(&mut self, engine: &Engine) -> Result<(), SimulationError> {
        let secret = self.secrets.webhook_secret.clone();
        let running = self.running_mut()?;
        if let Some(old) = running.webhooks.take() {
            old.stop().await;
        }
        let listener = match running.listener.take() {
            Some(listener) => listener,
            None => {
                let (listener, url) = loopback()?;
                running.sandbox.set_webhook_url(&url);
                listener
            }
        };
        let accounts = running
            .accounts
            .clone()
            .ok_or_else(|| SimulationError::Edge("an engine was attached unbuilt".into()))?;
        let mut hooks = WebhookConfig::new(secret, accounts, unused_hosted_auth_settings());
        hooks.clock = running.clock.clone();
        hooks.workers = 1;
        let webhooks = RunningWebhooks::serve(listener, engine.clone(), hooks)
            .map_err(|e| edge_error("webhook endpoint", e))?;
        tracing::info!(url = %webhooks.url(), "webhook endpoint serving the engine");
        running.webhooks = Some(webhooks);
        Ok(())
    }

    fn account_connected(
        &self,
        account: AccountId,
        provider: ProviderAccountId,
        tier: Tier,
        tz: Tz,
    ) {
        if let Some(running) = &self.running {
            running.sandbox.add_account(account, provider, tier, tz);
        }
    }

    async fn deliver(
        &mut self,
        _engine: &Engine,
        _workspace: &WorkspaceId,
        event: InboundEvent,
    ) -> Result<(), SimulationError> {
        match self.running()?.sandbox.deliver(event).await {
            Delivery::Acknowledged(answer) => {
                let status = answer.get("status").and_then(|s| s.as_str());
                if status == Some("ignored") {
                    // In process this would have been an engine error: keep the run as strict.
                    let reason = answer
                        .get("reason")
                        .and_then(|s| s.as_str())
                        .unwrap_or("no reason given");
                    return Err(SimulationError::Edge(format!(
                        "the webhook endpoint ignored a notification: {reason}"
                    )));
                }
                Ok(())
            }
            Delivery::Dropped => Err(SimulationError::Edge(
                "the webhook endpoint did not acknowledge a notification".into(),
            )),
            Delivery::Unroutable => Err(SimulationError::Edge(
                "a notification had nowhere to go (an answer to nothing the provider sent)".into(),
            )),
        }
    }

    fn session_renewed(&self, account: &AccountId) -> Result<(), SimulationError> {
        self.running()?
            .sandbox
            .renew_session(account)
            .map_err(|e| edge_error("session renewal", e))
    }

    async fn close(&mut self) {
        if let Some(running) = self.running.take() {
            if let Some(webhooks) = running.webhooks {
                webhooks.stop().await;
            }
            running.sandbox.stop().await;
        }
    }
}
