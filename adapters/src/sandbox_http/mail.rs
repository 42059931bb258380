//! The sink's handler for the sandbox: each mail becomes an `EmailRequest` to the world, the
//! world's answer becomes the relay's (250, 550, 451, or a lost answer).

use async_trait::async_trait;
use plera_domain::ids::MailboxId;
use plera_domain::ports::{EmailGateway, EmailRequest, GatewayErrorKind};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::api::Api;
use super::records::SentEmail;
use super::smtp_sink::{MailHandler, ReceivedMail, Verdict};
use crate::email::step_of_message_id;
use crate::provider::sequence_parts;

/// Feeds the sandbox mailbox.
pub(super) struct SandboxMail {
    pub api: Arc<Api>,
    /// Envelope sender address (lower case) → mailbox.
    pub mailboxes: BTreeMap<String, MailboxId>,
}

#[async_trait]
impl MailHandler for SandboxMail {
    async fn on_mail(&self, mail: &ReceivedMail) -> Verdict {
        let Some(key) = mail.message_id.as_deref().and_then(step_of_message_id) else {
            return Verdict::Reject(554, "5.6.0 the sandbox needs a plera Message-ID".into());
        };
        let Some(mailbox) = self.mailboxes.get(&mail.mail_from.to_lowercase()).cloned() else {
            return Verdict::Reject(553, "5.7.1 sender address not allowed".into());
        };
        let [to] = mail.rcpt_to.as_slice() else {
            return Verdict::Reject(554, "5.5.3 one recipient expected".into());
        };
        let request = EmailRequest {
            key: key.clone(),
            mailbox,
            to: to.clone(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
        };
        let sent = self.api.world.send_email(request).await;
        let delivered = match &sent {
            Ok(_) => true,
            Err(e) if e.kind == GatewayErrorKind::Timeout => {
                matches!(self.api.world.find_email(&key).await, Ok(Some(_)))
            }
            Err(_) => false,
        };
        if delivered {
            if let (Some((_, lead)), Some(message_id)) =
                (sequence_parts(&key.sequence), mail.message_id.clone())
            {
                self.api.records().emails.insert(
                    lead,
                    SentEmail {
                        message_id,
                        to: to.clone(),
                    },
                );
            }
        }
        match sent {
            Ok(_) => Verdict::Accept,
            Err(e) => match e.kind {
                GatewayErrorKind::Timeout => Verdict::HangUp,
                GatewayErrorKind::Transient | GatewayErrorKind::TooManyRequests => {
                    Verdict::Reject(451, format!("4.3.0 {}", e.detail))
                }
                _ => Verdict::Reject(550, format!("5.1.1 {}", e.detail)),
            },
        }
    }
}
