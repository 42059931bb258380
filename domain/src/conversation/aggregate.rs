use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{AccountId, LeadId, ProviderMessageId, WorkspaceId};
use crate::values::Channel;

/// Events of the `Conversation` aggregate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ConversationEvent {
    /// A message from someone who is in no sequence of the workspace: it still belongs in the inbox.
    InboundMessageReceived {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Who wrote.
        lead_id: LeadId,
        /// The sender account whose conversation it landed in, for LinkedIn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<AccountId>,
        /// The channel.
        channel: Channel,
        /// The provider's message id (duplicates of a delivery share it).
        message_id: ProviderMessageId,
        /// The text.
        text: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A user read the conversation with this lead (through this sender, when given).
    ConversationRead {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// The lead.
        lead_id: LeadId,
        /// The sender's side of the conversation, when the inbox keeps one per sender.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<AccountId>,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for ConversationEvent {
    fn event_type(&self) -> String {
        match self {
            ConversationEvent::InboundMessageReceived { .. } => "InboundMessageReceived",
            ConversationEvent::ConversationRead { .. } => "ConversationRead",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_string()
    }
}

/// Commands to the `Conversation` aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum ConversationCommand {
    /// Record a message from someone in no sequence; a known message id does nothing.
    RecordInbound {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Who wrote.
        lead_id: LeadId,
        /// The sender account, for LinkedIn.
        account_id: Option<AccountId>,
        /// The channel.
        channel: Channel,
        /// The provider's message id.
        message_id: ProviderMessageId,
        /// The text.
        text: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Mark the conversation read.
    MarkRead {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// The lead.
        lead_id: LeadId,
        /// The sender's side, if any.
        account_id: Option<AccountId>,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Why the `Conversation` aggregate refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConversationError {
    /// The command names another workspace or lead than the conversation's.
    #[error("the command does not belong to this conversation")]
    WrongConversation,
}

/// A conversation's state: whose it is and which inbound messages it has seen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    owner: Option<(WorkspaceId, LeadId)>,
    seen: Vec<ProviderMessageId>,
}

impl Conversation {
    fn check(&self, workspace: &WorkspaceId, lead: &LeadId) -> Result<(), ConversationError> {
        match &self.owner {
            Some((w, l)) if w != workspace || l != lead => {
                Err(ConversationError::WrongConversation)
            }
            _ => Ok(()),
        }
    }

    /// Whether an inbound message id was recorded here.
    pub fn has_seen(&self, id: &ProviderMessageId) -> bool {
        self.seen.contains(id)
    }
}

impl Aggregate for Conversation {
    const TYPE: &'static str = "conversation";
    type Command = ConversationCommand;
    type Event = ConversationEvent;
    type Error = ConversationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            ConversationCommand::RecordInbound {
                workspace_id,
                lead_id,
                account_id,
                channel,
                message_id,
                text,
                at,
            } => {
                self.check(&workspace_id, &lead_id)?;
                if self.has_seen(&message_id) {
                    return Ok(());
                }
                ConversationEvent::InboundMessageReceived {
                    workspace_id,
                    lead_id,
                    account_id,
                    channel,
                    message_id,
                    text,
                    at,
                }
            }
            ConversationCommand::MarkRead {
                workspace_id,
                lead_id,
                account_id,
                at,
            } => {
                self.check(&workspace_id, &lead_id)?;
                ConversationEvent::ConversationRead {
                    workspace_id,
                    lead_id,
                    account_id,
                    at,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ConversationEvent::InboundMessageReceived {
                workspace_id,
                lead_id,
                message_id,
                ..
            } => {
                self.owner = Some((workspace_id, lead_id));
                self.seen.push(message_id);
            }
            ConversationEvent::ConversationRead {
                workspace_id,
                lead_id,
                ..
            } => {
                self.owner = Some((workspace_id, lead_id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use cqrs_es::test::TestFramework;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn inbound(ws: &str, id: &str) -> ConversationCommand {
        ConversationCommand::RecordInbound {
            workspace_id: ws.into(),
            lead_id: "lead".into(),
            account_id: Some("acc".into()),
            channel: Channel::Linkedin,
            message_id: id.into(),
            text: "Hello?".into(),
            at: at(),
        }
    }

    fn received(id: &str) -> ConversationEvent {
        ConversationEvent::InboundMessageReceived {
            workspace_id: "ws".into(),
            lead_id: "lead".into(),
            account_id: Some("acc".into()),
            channel: Channel::Linkedin,
            message_id: id.into(),
            text: "Hello?".into(),
            at: at(),
        }
    }

    #[test]
    fn records_a_message_from_someone_in_no_sequence_once() {
        TestFramework::<Conversation>::with(())
            .given_no_previous_events()
            .when(inbound("ws", "m1"))
            .then_expect_events(vec![received("m1")]);
        TestFramework::<Conversation>::with(())
            .given(vec![received("m1")])
            .when(inbound("ws", "m1"))
            .then_expect_events(vec![]);
    }

    #[test]
    fn marks_read_and_refuses_another_workspace() {
        TestFramework::<Conversation>::with(())
            .given(vec![received("m1")])
            .when(ConversationCommand::MarkRead {
                workspace_id: "ws".into(),
                lead_id: "lead".into(),
                account_id: None,
                at: at(),
            })
            .then_expect_events(vec![ConversationEvent::ConversationRead {
                workspace_id: "ws".into(),
                lead_id: "lead".into(),
                account_id: None,
                at: at(),
            }]);
        TestFramework::<Conversation>::with(())
            .given(vec![received("m1")])
            .when(inbound("other", "m2"))
            .then_expect_error(ConversationError::WrongConversation);
    }

    #[test]
    fn events_are_flat_json_with_a_type_tag() {
        let json = serde_json::to_value(received("m1")).unwrap();
        assert_eq!(json["type"], "InboundMessageReceived");
        assert_eq!(json["channel"], "linkedin");
        assert_eq!(json["message_id"], "m1");
        let back: ConversationEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, received("m1"));
    }
}
