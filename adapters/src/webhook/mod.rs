//! Inbound provider notifications over HTTP (actix-web), and the polling fallback.
//!
//! Routes (all `POST`, JSON, authenticated by the [`SECRET_HEADER`], body at most `max_body`):
//!
//! | path | body | engine call |
//! |---|---|---|
//! | `/webhooks/linkedin/messages` | [`MessageWebhook`] | `ingest(MessageReceived)` (our own messages skipped) |
//! | `/webhooks/linkedin/relations` | [`RelationWebhook`] | `ingest(InviteAccepted)` |
//! | `/webhooks/linkedin/account-status` | [`AccountStatusWebhook`] | `ingest(AccountStatus)` |
//! | `/webhooks/linkedin/hosted-auth` | [`HostedAuthWebhook`] | `complete_connection(name, account_id, settings)` |
//! | `/webhooks/email` | [`EmailWebhook`] | `ingest(MessageReceived)` on the email channel |
//!
//! Answers: 401 on a wrong or missing secret (checked before the body is read), 413 over
//! `max_body`, 400 on a body that is not the expected JSON, 200 once the engine has the event
//! (also for a duplicate, an unknown account, or anything retrying cannot fix), 503 when the
//! engine could not take it (store down, slower than `ingest_timeout`): the provider then
//! delivers again, and the engine's deduplication makes that harmless. Handing the event over
//! takes milliseconds, well inside the provider's 30 s; acknowledging before the engine has it
//! would lose it on a crash.

mod auth;
mod expected;
mod payloads;
mod poller;
mod routes;

pub use auth::{secret_matches, SECRET_HEADER};
pub use expected::ExpectedConnections;
pub use payloads::{
    AccountInfo, AccountStatusNotice, AccountStatusWebhook, Ack, Attendee, EmailWebhook,
    HostedAuthAnswer, HostedAuthWebhook, MessageWebhook, RelationWebhook,
};
pub use poller::{PollReport, Poller, PollerConfig};

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use plera_actors::{Engine, SenderSettings, SystemClock};
use plera_domain::ports::Clock;
use secrecy::SecretString;
use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use crate::provider::AccountDirectory;

/// Path of the LinkedIn message notifications.
pub const MESSAGES_PATH: &str = "/webhooks/linkedin/messages";
/// Path of the new-relation notifications.
pub const RELATIONS_PATH: &str = "/webhooks/linkedin/relations";
/// Path of the account-status notifications.
pub const ACCOUNT_STATUS_PATH: &str = "/webhooks/linkedin/account-status";
/// Path of the hosted-auth completions (the `notify_url` of hosted-auth links).
pub const HOSTED_AUTH_PATH: &str = "/webhooks/linkedin/hosted-auth";
/// Path of inbound emails.
pub const EMAIL_PATH: &str = "/webhooks/email";

/// How the webhook endpoint authenticates, limits and routes notifications.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The shared secret the provider sends in [`SECRET_HEADER`].
    pub secret: SecretString,
    /// Largest body accepted (bytes); larger ones get 413.
    pub max_body: usize,
    /// Provider account id → our workspace and sender.
    pub accounts: Arc<dyn AccountDirectory>,
    /// Settings of a sender connected through hosted auth, unless `expected` knows its own.
    pub sender_settings: SenderSettings,
    /// Settings of the hosted-auth connections started with known settings.
    pub expected: ExpectedConnections,
    /// Longest wait for the engine before answering 503.
    pub ingest_timeout: Duration,
    /// Stamps notifications that carry no time.
    pub clock: Arc<dyn Clock>,
    /// actix worker threads.
    pub workers: usize,
}

impl WebhookConfig {
    /// A configuration with a 64 KiB body limit, a 10 s engine timeout and the system clock.
    pub fn new(
        secret: SecretString,
        accounts: Arc<dyn AccountDirectory>,
        sender_settings: SenderSettings,
    ) -> Self {
        Self {
            secret,
            max_body: 64 * 1024,
            accounts,
            sender_settings,
            expected: ExpectedConnections::default(),
            ingest_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
            workers: 2,
        }
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("secret", &"[redacted]")
            .field("max_body", &self.max_body)
            .field("sender_settings", &self.sender_settings)
            .field("expected", &self.expected)
            .field("ingest_timeout", &self.ingest_timeout)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// Mounts the webhook routes on an actix `App` (so `plera serve` can add them to its own).
pub fn configure(
    engine: Engine,
    config: WebhookConfig,
) -> impl Fn(&mut web::ServiceConfig) + Clone {
    let shared = web::Data::new(routes::Shared { engine, config });
    move |cfg: &mut web::ServiceConfig| routes::mount(cfg, shared.clone())
}

/// The webhook server on `listener`; run it by awaiting or spawning the returned `Server`
/// (its handle stops it).
pub fn server(
    engine: Engine,
    config: WebhookConfig,
    listener: TcpListener,
) -> std::io::Result<Server> {
    let workers = config.workers.max(1);
    let routes = configure(engine, config);
    Ok(
        HttpServer::new(move || App::new().configure(routes.clone()))
            .workers(workers)
            .disable_signals()
            .shutdown_timeout(5)
            .listen(listener)?
            .run(),
    )
}

/// A webhook server running on the current tokio runtime.
pub struct RunningWebhooks {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningWebhooks {
    /// Binds `addr` (port 0 for any free port) and starts serving.
    pub fn start(engine: Engine, config: WebhookConfig, addr: SocketAddr) -> std::io::Result<Self> {
        Self::serve(TcpListener::bind(addr)?, engine, config)
    }

    /// Serves on a listener bound beforehand (so its URL can be handed out before the engine
    /// exists, e.g. to a provider that needs the webhook URL to start).
    pub fn serve(
        listener: TcpListener,
        engine: Engine,
        config: WebhookConfig,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let server = server(engine, config, listener)?;
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(Self { addr, handle, task })
    }

    /// The base URL (`http://addr`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes requests in flight, and waits for the server to end.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }
}
