use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::linkedin::{GatewayError, StepKey};
use crate::ids::MailboxId;

/// An email to send from a mailbox.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailRequest {
    /// Identifies the step: the gateway uses it to drop a repeated send and to answer reconciliation.
    pub key: StepKey,
    /// The sending mailbox.
    pub mailbox: MailboxId,
    /// The recipient address.
    pub to: String,
    /// Rendered subject.
    pub subject: String,
    /// Rendered body.
    pub body: String,
}

/// Proof that the mailbox accepted an email.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailReceipt {
    /// The provider's message id.
    pub message_id: String,
    /// When the provider accepted it.
    pub at: DateTime<Utc>,
}

/// Sends email; implemented by the sandbox mailbox and the SMTP adapter.
#[async_trait]
pub trait EmailGateway: Send + Sync {
    /// Sends one email.
    async fn send_email(&self, request: EmailRequest) -> Result<EmailReceipt, GatewayError>;

    /// Whether the email of `key` was really sent (reconciliation after an unknown outcome).
    async fn find_email(&self, key: &StepKey) -> Result<Option<EmailReceipt>, GatewayError>;
}
