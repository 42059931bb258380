//! The provider's side of notifications: the world's due events POSTed to the webhook
//! endpoint in the provider's formats, retried up to 5 times when not acknowledged with 200.

use chrono::{DateTime, Utc};
use plera_domain::ports::{AccountStatusSignal, InboundEvent};
use plera_domain::values::Channel;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

use super::api::Api;
use super::records::StoredMessage;
use crate::webhook::{
    ACCOUNT_STATUS_PATH, EMAIL_PATH, MESSAGES_PATH, RELATIONS_PATH, SECRET_HEADER,
};

/// Deliveries per notification, as the provider does.
const ATTEMPTS: usize = 5;

/// What one delivery round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Notifications acknowledged with 200.
    pub delivered: usize,
    /// Notifications given up after every attempt.
    pub dropped: usize,
    /// Notifications with nowhere to go (an email answer to no email).
    pub unroutable: usize,
}

/// What became of one notification.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    /// Acknowledged with 200; the endpoint's answer (its JSON, or null).
    Acknowledged(Value),
    /// Not acknowledged after every attempt.
    Dropped,
    /// Nowhere to go (an email answer to no email, an account the provider does not know).
    Unroutable,
}

/// POSTs notifications to the webhook endpoint.
pub(super) struct Notifier {
    pub api: Arc<Api>,
    /// Where the endpoint is; it can move (a restarted endpoint on a new port).
    pub webhook_base: Mutex<String>,
    pub secret: SecretString,
    pub http: reqwest::Client,
}

impl Notifier {
    /// Delivers everything the world has due at or before `up_to`, in order.
    pub async fn deliver_due(&self, up_to: DateTime<Utc>) -> DeliveryReport {
        let mut report = DeliveryReport::default();
        for event in self.api.world.take_notifications(up_to) {
            match self.deliver(event).await {
                Delivery::Acknowledged(_) => report.delivered += 1,
                Delivery::Dropped => report.dropped += 1,
                Delivery::Unroutable => report.unroutable += 1,
            }
        }
        report
    }

    /// Delivers one notification (taken from the world by the caller).
    pub async fn deliver(&self, event: InboundEvent) -> Delivery {
        let Some((path, body)) = self.render(event) else {
            return Delivery::Unroutable;
        };
        match self.post(path, &body).await {
            Some(answer) => Delivery::Acknowledged(answer),
            None => Delivery::Dropped,
        }
    }

    /// The endpoint's base URL, without a trailing slash.
    pub fn base(&self) -> String {
        self.webhook_base
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .trim_end_matches('/')
            .to_string()
    }

    /// POSTs `body` until a 200 (at most `ATTEMPTS` times); the answer's JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Option<Value> {
        let url = format!("{}{path}", self.base());
        for _ in 0..ATTEMPTS {
            let sent = self
                .http
                .post(&url)
                .header(SECRET_HEADER, self.secret.expose_secret())
                .json(body)
                .send()
                .await;
            if let Ok(response) = sent {
                if response.status().as_u16() == 200 {
                    return Some(response.json().await.unwrap_or(Value::Null));
                }
            }
        }
        tracing::warn!(%path, "notification dropped after {ATTEMPTS} attempts");
        None
    }

    /// The notification in the provider's format, recording inbound messages in their chats.
    fn render(&self, event: InboundEvent) -> Option<(&'static str, Value)> {
        let mut records = self.api.records();
        match event {
            InboundEvent::MessageReceived {
                account: Some(account),
                lead,
                channel: Channel::Linkedin,
                message_id,
                text,
                at,
            } => {
                let provider = records.provider_of(&account)?;
                let i = records.chat_with(&provider, &lead);
                let chat = &mut records.chats[i];
                chat.messages.push(StoredMessage {
                    id: message_id.to_string(),
                    text: text.clone(),
                    from_us: false,
                    at,
                    key: None,
                });
                Some((
                    MESSAGES_PATH,
                    json!({
                        "event": "message_received", "account_id": provider, "chat_id": chat.id,
                        "message_id": message_id, "message": text, "timestamp": at,
                        "sender": {"attendee_provider_id": lead},
                        "account_info": {"user_id": format!("me-{provider}")},
                    }),
                ))
            }
            InboundEvent::MessageReceived {
                lead,
                message_id,
                text,
                at,
                ..
            } => {
                let sent = records.emails.get(&lead)?;
                Some((
                    EMAIL_PATH,
                    json!({
                        "message_id": message_id, "in_reply_to": sent.message_id,
                        "from": sent.to, "text": text, "date": at,
                    }),
                ))
            }
            InboundEvent::InviteAccepted { account, lead, at } => {
                let provider = records.provider_of(&account)?;
                Some((
                    RELATIONS_PATH,
                    json!({
                        "event": "new_relation", "account_id": provider,
                        "user_provider_id": lead, "timestamp": at,
                    }),
                ))
            }
            InboundEvent::AccountStatus {
                account, status, ..
            } => {
                let provider = records.provider_of(&account)?;
                records.statuses.insert(provider.clone(), status);
                let message = match status {
                    AccountStatusSignal::Ok => "OK",
                    AccountStatusSignal::Restricted => "ERROR",
                    AccountStatusSignal::CredentialsExpired => "CREDENTIALS",
                };
                Some((
                    ACCOUNT_STATUS_PATH,
                    json!({"AccountStatus": {"account_id": provider, "account_type": "LINKEDIN", "message": message}}),
                ))
            }
        }
    }
}
