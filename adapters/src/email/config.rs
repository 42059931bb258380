//! How to reach the SMTP relay. The password is a secret: `Debug` never shows it.

use plera_domain::ids::MailboxId;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, required (port 587).
    StartTls,
    /// No TLS at all: only for a relay on the same host or a test sink.
    Plain,
}

/// Where and how mail is sent.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The relay's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// TLS mode.
    pub security: SmtpSecurity,
    /// User name and password, when the relay wants them.
    pub credentials: Option<(String, SecretString)>,
    /// How long a send may take; past it the outcome is unknown.
    pub timeout: Duration,
    /// The `From` address of each mailbox (`Engine::register_mailbox` addresses).
    pub mailboxes: BTreeMap<MailboxId, String>,
    /// The `From` of a mailbox missing from `mailboxes`.
    pub default_from: Option<String>,
    /// The right-hand side of our Message-IDs.
    pub message_id_domain: String,
}

impl SmtpConfig {
    /// A relay at `host:port` with `security`, a 30 s timeout and no mailboxes yet.
    pub fn new(host: impl Into<String>, port: u16, security: SmtpSecurity) -> Self {
        Self {
            host: host.into(),
            port,
            security,
            credentials: None,
            timeout: Duration::from_secs(30),
            mailboxes: BTreeMap::new(),
            default_from: None,
            message_id_domain: "plera.local".into(),
        }
    }

    /// Adds a mailbox's `From` address.
    pub fn with_mailbox(mut self, mailbox: MailboxId, address: impl Into<String>) -> Self {
        self.mailboxes.insert(mailbox, address.into());
        self
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("password", &self.credentials.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("mailboxes", &self.mailboxes)
            .field("default_from", &self.default_from)
            .field("message_id_domain", &self.message_id_domain)
            .finish()
    }
}
