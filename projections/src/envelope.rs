//! Events as the views see them: the stored envelope, and its payload decoded into the domain's
//! event enums once per batch (every view of the batch shares the decoding).

use chrono::{DateTime, Utc};
use plera_domain::campaign::CampaignEvent;
use plera_domain::conversation::ConversationEvent;
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::sender::SenderAccountEvent;
use plera_domain::workspace::WorkspaceEvent;
use serde_json::Value;

use crate::ProjectionError;

/// Aggregate type of `SenderAccount` events.
pub const SENDER_ACCOUNT: &str = "sender_account";
/// Aggregate type of `LeadSequence` events.
pub const LEAD_SEQUENCE: &str = "lead_sequence";
/// Aggregate type of `Campaign` events.
pub const CAMPAIGN: &str = "campaign";
/// Aggregate type of `Workspace` events.
pub const WORKSPACE: &str = "workspace";
/// Aggregate type of `Conversation` events.
pub const CONVERSATION: &str = "conversation";

/// One stored event, as the log hands it out (the crate's own type: views do not know the store).
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// Position in the global order.
    pub position: u64,
    /// Aggregate type (`sender_account`, `lead_sequence`, ...).
    pub aggregate_type: String,
    /// Aggregate id.
    pub aggregate_id: String,
    /// Place in the aggregate's stream.
    pub sequence: u64,
    /// Event name.
    pub event_type: String,
    /// Schema version of the payload.
    pub event_version: String,
    /// The flat JSON payload with its `type` tag.
    pub payload: Value,
}

/// A payload decoded into its aggregate's event enum.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A `SenderAccount` event.
    Sender(SenderAccountEvent),
    /// A `LeadSequence` event.
    Lead(LeadSequenceEvent),
    /// A `Campaign` event.
    Campaign(CampaignEvent),
    /// A `Workspace` event.
    Workspace(WorkspaceEvent),
    /// A `Conversation` event.
    Conversation(ConversationEvent),
}

impl Event {
    /// When the event happened: every event of the contract carries `at`.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Event::Sender(e) => e.at(),
            Event::Lead(e) => e.at(),
            Event::Campaign(
                CampaignEvent::CampaignCreated { at, .. }
                | CampaignEvent::CampaignSendersChanged { at, .. },
            ) => *at,
            Event::Workspace(
                WorkspaceEvent::ConnectionRequested { at, .. }
                | WorkspaceEvent::ConnectionCompleted { at, .. }
                | WorkspaceEvent::MailboxRegistered { at, .. },
            ) => *at,
            Event::Conversation(
                ConversationEvent::InboundMessageReceived { at, .. }
                | ConversationEvent::ConversationRead { at, .. },
            ) => *at,
        }
    }
}

/// A decoded event with the envelope fields the views key their rows by.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// Position in the global order.
    pub position: u64,
    /// Aggregate id (a sequence id, an account id, a campaign id, ...).
    pub aggregate_id: String,
    /// The event.
    pub event: Event,
}

impl Envelope {
    /// Decodes the payload. An aggregate type no view knows gives `Ok(None)`: newer writers may
    /// add aggregates, and skipping them keeps old views working. A known aggregate whose payload
    /// does not decode is an error: skipping it would make the views silently wrong.
    pub fn decode(&self) -> Result<Option<Decoded>, ProjectionError> {
        self.parts().decode()
    }

    /// The parts [`Stored::decode`] reads, borrowed.
    pub fn parts(&self) -> Stored<'_> {
        Stored {
            position: self.position,
            aggregate_type: &self.aggregate_type,
            aggregate_id: &self.aggregate_id,
            event_type: &self.event_type,
            payload: &self.payload,
        }
    }
}

/// A stored event's parts, borrowed: what [`Envelope::decode`] reads, for a caller that holds
/// the event in another type (the audit) and should not copy its payload to decode it. The
/// payload is a parsed tree ([`Value`], the default) or the JSON text a store read (`str`,
/// decoded straight into the event: a rebuild's path, with no tree built first).
#[derive(Debug)]
pub struct Stored<'a, P: ?Sized = Value> {
    /// Position in the global order.
    pub position: u64,
    /// Aggregate type.
    pub aggregate_type: &'a str,
    /// Aggregate id.
    pub aggregate_id: &'a str,
    /// Event name (for errors).
    pub event_type: &'a str,
    /// The JSON payload.
    pub payload: &'a P,
}

impl<P: ?Sized> Clone for Stored<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: ?Sized> Copy for Stored<'_, P> {}

/// A payload the views decode: a parsed JSON tree, or JSON text.
pub trait Payload {
    /// The payload as `T`, or why not.
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String>;

    /// Whether the payload is JSON at all (an event no view decodes is still checked: a log
    /// that does not read as JSON is broken, whichever reader meets it).
    fn check(&self) -> Result<(), String>;
}

impl Payload for Value {
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        // Deserialized from the borrowed value: no copy of the payload's tree first.
        T::deserialize(self).map_err(|e| e.to_string())
    }

    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

impl Payload for String {
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        Payload::parse(self.as_str())
    }

    fn check(&self) -> Result<(), String> {
        Payload::check(self.as_str())
    }
}

impl Payload for str {
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_str(self).map_err(|e| e.to_string())
    }

    fn check(&self) -> Result<(), String> {
        Payload::parse::<serde::de::IgnoredAny>(self).map(drop)
    }
}

impl<P: Payload + ?Sized> Stored<'_, P> {
    /// Decodes the payload, as [`Envelope::decode`] does.
    pub fn decode(self) -> Result<Option<Decoded>, ProjectionError> {
        let event = match self.aggregate_type {
            SENDER_ACCOUNT => self.parse().map(Event::Sender)?,
            LEAD_SEQUENCE => self.parse().map(Event::Lead)?,
            CAMPAIGN => self.parse().map(Event::Campaign)?,
            WORKSPACE => self.parse().map(Event::Workspace)?,
            CONVERSATION => self.parse().map(Event::Conversation)?,
            _ => {
                self.payload.check().map_err(|reason| self.error(reason))?;
                return Ok(None);
            }
        };
        Ok(Some(Decoded {
            position: self.position,
            aggregate_id: self.aggregate_id.to_string(),
            event,
        }))
    }

    fn parse<T: serde::de::DeserializeOwned>(self) -> Result<T, ProjectionError> {
        self.payload.parse().map_err(|reason| self.error(reason))
    }

    fn error(self, reason: String) -> ProjectionError {
        ProjectionError::Decode {
            position: self.position,
            event_type: self.event_type.to_string(),
            reason,
        }
    }
}

/// Decodes a batch, dropping events of aggregates no view knows.
pub fn decode_all(envelopes: &[Envelope]) -> Result<Vec<Decoded>, ProjectionError> {
    decode_each(envelopes.iter().map(Envelope::parts))
}

/// Decodes stored events held in another type (parsed payloads or their text), dropping events
/// of aggregates no view knows.
pub fn decode_each<'a, P: Payload + ?Sized + 'a>(
    events: impl IntoIterator<Item = Stored<'a, P>>,
) -> Result<Vec<Decoded>, ProjectionError> {
    let events = events.into_iter();
    let mut out = Vec::with_capacity(events.size_hint().0);
    for stored in events {
        out.extend(stored.decode()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(aggregate_type: &str, payload: Value) -> Envelope {
        Envelope {
            position: 7,
            aggregate_type: aggregate_type.into(),
            aggregate_id: "a".into(),
            sequence: 1,
            event_type: payload["type"].as_str().unwrap_or("").into(),
            event_version: "1".into(),
            payload,
        }
    }

    #[test]
    fn a_known_payload_decodes_into_its_enum() {
        let e = envelope(
            LEAD_SEQUENCE,
            json!({"type": "InviteAccepted", "at": "2026-03-02T10:00:00Z"}),
        );
        let decoded = e.decode().unwrap().unwrap();
        assert_eq!(decoded.position, 7);
        assert!(matches!(
            decoded.event,
            Event::Lead(LeadSequenceEvent::InviteAccepted { .. })
        ));
        assert_eq!(decoded.event.at().to_rfc3339(), "2026-03-02T10:00:00+00:00");
    }

    #[test]
    fn a_payload_decodes_alike_from_its_tree_and_from_its_text() {
        let payload = json!({"type": "InviteAccepted", "at": "2026-03-02T10:00:00Z"});
        let text = payload.to_string();
        let from_text = |text: &str| {
            Stored {
                position: 7,
                aggregate_type: LEAD_SEQUENCE,
                aggregate_id: "a",
                event_type: "InviteAccepted",
                payload: text,
            }
            .decode()
        };
        assert_eq!(
            from_text(&text).unwrap(),
            envelope(LEAD_SEQUENCE, payload).decode().unwrap()
        );
        assert!(matches!(
            from_text("{\"type\": \"InviteAccepted\"}"),
            Err(ProjectionError::Decode { position: 7, .. })
        ));
        assert!(matches!(
            from_text("not json"),
            Err(ProjectionError::Decode { position: 7, .. })
        ));
        let other = |text: &str| {
            Stored {
                position: 8,
                aggregate_type: "billing",
                aggregate_id: "b",
                event_type: "Charged",
                payload: text,
            }
            .decode()
        };
        assert_eq!(other("{\"type\": \"Charged\"}"), Ok(None));
        assert!(matches!(
            other("{broken"),
            Err(ProjectionError::Decode { position: 8, .. })
        ));
    }

    #[test]
    fn unknown_aggregates_are_skipped_but_broken_payloads_are_errors() {
        let other = envelope("billing", json!({"type": "Charged"}));
        assert_eq!(other.decode().unwrap(), None);
        let broken = envelope(LEAD_SEQUENCE, json!({"type": "InviteAccepted"}));
        assert!(matches!(
            broken.decode(),
            Err(ProjectionError::Decode { position: 7, .. })
        ));
    }
}
