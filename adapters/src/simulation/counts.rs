//! What a log holds, counted by event type: the numbers `plera simulate` reports.

use plera_actors::store::StoredEvent;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of a log's events; `plera simulate --json` prints the first seven with its options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogCounts {
    /// Every event.
    pub events: u64,
    /// `InviteSent`.
    pub invites_sent: u64,
    /// `InviteAccepted`.
    pub invites_accepted: u64,
    /// `MessageSent`.
    pub messages_sent: u64,
    /// `EmailSent`.
    pub emails_sent: u64,
    /// `ReplyReceived`.
    pub replies: u64,
    /// `SequenceStopped`.
    pub sequences_stopped: u64,
    /// Every event type with its count, for the human summary.
    #[serde(skip)]
    pub by_type: BTreeMap<String, u64>,
    /// Replies per channel (`linkedin`, `email`).
    #[serde(skip)]
    pub replies_by_channel: BTreeMap<String, u64>,
}

impl LogCounts {
    /// Counts one more event.
    pub fn observe(&mut self, event: &StoredEvent) {
        self.events += 1;
        *self.by_type.entry(event.event_type.clone()).or_default() += 1;
        let counter = match event.event_type.as_str() {
            "InviteSent" => &mut self.invites_sent,
            "InviteAccepted" => &mut self.invites_accepted,
            "MessageSent" => &mut self.messages_sent,
            "EmailSent" => &mut self.emails_sent,
            "ReplyReceived" => {
                let channel = event
                    .payload
                    .get("channel")
                    .and_then(|c| c.as_str())
                    .unwrap_or("unknown");
                *self
                    .replies_by_channel
                    .entry(channel.to_string())
                    .or_default() += 1;
                &mut self.replies
            }
            "SequenceStopped" => &mut self.sequences_stopped,
            _ => return,
        };
        *counter += 1;
    }

    /// How many events of `event_type`.
    pub fn of(&self, event_type: &str) -> u64 {
        self.by_type.get(event_type).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(event_type: &str, payload: serde_json::Value) -> StoredEvent {
        StoredEvent {
            position: 1,
            aggregate_type: "lead_sequence".into(),
            aggregate_id: "ws/c/l".into(),
            sequence: 1,
            event_type: event_type.into(),
            event_version: "1".into(),
            payload,
        }
    }

    #[test]
    fn counts_follow_event_types_and_reply_channels() {
        let mut counts = LogCounts::default();
        for (t, p) in [
            ("InviteSent", json!({})),
            ("InviteSent", json!({})),
            ("ReplyReceived", json!({"channel": "email"})),
            ("SequenceStopped", json!({})),
            ("StepStarted", json!({})),
        ] {
            counts.observe(&event(t, p));
        }
        assert_eq!(counts.events, 5);
        assert_eq!(counts.invites_sent, 2);
        assert_eq!(counts.replies, 1);
        assert_eq!(counts.sequences_stopped, 1);
        assert_eq!(counts.of("StepStarted"), 1);
        assert_eq!(counts.replies_by_channel.get("email"), Some(&1));
        assert_eq!(counts.messages_sent, 0);
    }
}
