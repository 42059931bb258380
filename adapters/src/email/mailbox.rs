//! `SmtpMailbox`: the `EmailGateway` port over an SMTP relay (lettre, rustls).
//!
//! A mail counts as sent once the relay answered 250 to its data; that answer is recorded in
//! the journal, which is what `find_email` reads. Classification:
//! - 5xx → `RecipientRefused` (the lead's step is passed over, never retried), except the
//!   authentication codes 530/534/535/538 → `Malformed` (our configuration: fail the step);
//! - 4xx → `Transient` (the relay did not take it; trying later is safe);
//! - connection refused → `Transient`; a timeout, or a connection lost mid-session → `Timeout`:
//!   the relay may have taken it. Reconciling finds no record, the step is sent again with the
//!   same Message-ID, which receivers drop as a duplicate if the first one did arrive.

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use plera_actors::SystemClock;
use plera_domain::ports::{
    Clock, EmailGateway, EmailReceipt, EmailRequest, GatewayError, GatewayErrorKind, StepKey,
};
use secrecy::ExposeSecret;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

use super::config::{SmtpConfig, SmtpSecurity};
use super::journal::Journal;
use super::message_id::message_id_for;

/// Why an `SmtpMailbox` could not be built.
#[derive(Debug, Error)]
pub enum SmtpSetupError {
    /// The relay's TLS set-up failed.
    #[error("the SMTP relay could not be set up: {0}")]
    Relay(String),
    /// The journal file could not be read.
    #[error("the email journal could not be read: {0}")]
    Journal(#[from] std::io::Error),
}

/// Sends the engine's emails through an SMTP relay.
pub struct SmtpMailbox {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    config: SmtpConfig,
    clock: Arc<dyn Clock>,
    journal: Journal,
}

impl fmt::Debug for SmtpMailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailbox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SmtpMailbox {
    /// A mailbox sending through `config`'s relay, remembering accepted mail in memory only.
    pub fn new(config: SmtpConfig) -> Result<Self, SmtpSetupError> {
        let builder = match config.security {
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| SmtpSetupError::Relay(e.to_string()))?,
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| SmtpSetupError::Relay(e.to_string()))?
            }
            SmtpSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            }
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            config,
            clock: Arc::new(SystemClock),
            journal: Journal::default(),
        })
    }

    /// Keeps the record of accepted mail in `file` too (JSON lines), loading what it holds.
    pub async fn with_journal(mut self, file: PathBuf) -> Result<Self, SmtpSetupError> {
        self.journal = Journal::open(file).await?;
        Ok(self)
    }

    /// Stamps receipts with `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn sender_address(&self, request: &EmailRequest) -> Result<Mailbox, GatewayError> {
        let address = self
            .config
            .mailboxes
            .get(&request.mailbox)
            .or(self.config.default_from.as_ref())
            .ok_or_else(|| {
                GatewayError::new(
                    GatewayErrorKind::Malformed,
                    format!("no From address configured for mailbox {}", request.mailbox),
                )
            })?;
        address.parse().map_err(|_| {
            GatewayError::new(
                GatewayErrorKind::Malformed,
                format!("the From address of mailbox {} is invalid", request.mailbox),
            )
        })
    }

    fn message(&self, request: &EmailRequest, message_id: &str) -> Result<Message, GatewayError> {
        let to: Mailbox = request.to.parse().map_err(|_| {
            GatewayError::new(
                GatewayErrorKind::RecipientRefused,
                "invalid_recipient: not an email address",
            )
        })?;
        Message::builder()
            .from(self.sender_address(request)?)
            .to(to)
            .subject(request.subject.clone())
            .message_id(Some(message_id.to_string()))
            .header(ContentType::TEXT_PLAIN)
            .body(request.body.clone())
            .map_err(|e| {
                GatewayError::new(
                    GatewayErrorKind::Malformed,
                    format!("unbuildable email: {e}"),
                )
            })
    }
}

#[async_trait]
impl EmailGateway for SmtpMailbox {
    async fn send_email(&self, request: EmailRequest) -> Result<EmailReceipt, GatewayError> {
        if let Some(receipt) = self.journal.get(&request.key).await {
            return Ok(receipt);
        }
        let message_id = message_id_for(&request.key, &self.config.message_id_domain);
        let message = self.message(&request, &message_id)?;
        // lettre's timeout covers each exchange; this one bounds the whole conversation.
        let whole = self.config.timeout * 3;
        let sent = tokio::time::timeout(whole, self.transport.send(message)).await;
        match sent {
            Ok(Ok(_)) => {
                let receipt = EmailReceipt {
                    message_id,
                    at: self.clock.now(),
                };
                if let Err(e) = self.journal.record(&request.key, &receipt).await {
                    tracing::error!(error = %e, key = %request.key, "email journal write failed");
                }
                Ok(receipt)
            }
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(GatewayError::new(
                GatewayErrorKind::Timeout,
                "the relay did not finish in time: the outcome is unknown",
            )),
        }
    }

    async fn find_email(&self, key: &StepKey) -> Result<Option<EmailReceipt>, GatewayError> {
        Ok(self.journal.get(key).await)
    }
}

/// The engine's class of an SMTP failure.
fn classify(error: &lettre::transport::smtp::Error) -> GatewayError {
    if let Some(code) = error.status() {
        let code_text = code.to_string();
        let detail = format!("SMTP {code_text}: {error}");
        if error.is_permanent() {
            let kind = if matches!(code_text.as_str(), "530" | "534" | "535" | "538") {
                GatewayErrorKind::Malformed
            } else {
                GatewayErrorKind::RecipientRefused
            };
            return GatewayError::new(kind, detail);
        }
        return GatewayError::new(GatewayErrorKind::Transient, detail);
    }
    if error.is_timeout() {
        return GatewayError::new(
            GatewayErrorKind::Timeout,
            "the relay did not answer in time: the outcome is unknown",
        );
    }
    if refused(error) {
        return GatewayError::new(
            GatewayErrorKind::Transient,
            "could not connect to the relay: nothing was sent",
        );
    }
    GatewayError::new(
        GatewayErrorKind::Timeout,
        format!("the SMTP session broke: the outcome is unknown ({error})"),
    )
}

/// Whether the relay refused the connection itself (so nothing was sent).
fn refused(error: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            );
        }
        source = e.source();
    }
    false
}
