//! The inbox fold: one event at a time, against the batch's stage.

use plera_domain::conversation::ConversationEvent;
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::values::Channel;

use super::{InboxSequence, MessageKind, MessageRow, ThreadRow};
use crate::envelope::{Decoded, Event};
use crate::rows::KeyPart;
use crate::stage::Stage;
use crate::time::stamp;
use crate::{tag, ProjectionError};

/// A message about to enter a thread.
struct NewMessage {
    workspace_id: String,
    lead_id: String,
    account_id: String,
    campaign_id: Option<String>,
    sequence_id: Option<String>,
    key: String,
    kind: MessageKind,
    channel: Channel,
    subject: Option<String>,
    text: String,
}

/// Applies one event.
pub(super) fn apply(stage: &mut Stage<'_>, event: &Decoded) -> Result<(), ProjectionError> {
    match &event.event {
        Event::Lead(lead) => apply_lead(stage, event, lead),
        Event::Conversation(conversation) => apply_conversation(stage, event, conversation),
        Event::Sender(_) | Event::Campaign(_) | Event::Workspace(_) => Ok(()),
    }
}

fn apply_lead(
    stage: &mut Stage<'_>,
    event: &Decoded,
    lead: &LeadSequenceEvent,
) -> Result<(), ProjectionError> {
    use LeadSequenceEvent as E;
    let sequence_id = &event.aggregate_id;
    let (kind, channel, subject, text, key) = match lead {
        E::SequenceStarted {
            workspace_id,
            lead_id,
            campaign_id,
            account_id,
            ..
        } => {
            stage.put_owned(InboxSequence {
                sequence_id: sequence_id.clone(),
                workspace_id: workspace_id.to_string(),
                lead_id: lead_id.to_string(),
                campaign_id: campaign_id.to_string(),
                account_id: account_id.to_string(),
            });
            return Ok(());
        }
        E::InviteSent { step, note, .. } => (
            MessageKind::Invite,
            Channel::Linkedin,
            None,
            note.clone().unwrap_or_default(),
            outbound_key(sequence_id, *step),
        ),
        E::MessageSent { step, text, .. } => (
            MessageKind::Message,
            Channel::Linkedin,
            None,
            text.clone(),
            outbound_key(sequence_id, *step),
        ),
        E::EmailSent {
            step,
            subject,
            body,
            ..
        } => (
            MessageKind::Email,
            Channel::Email,
            Some(subject.clone()),
            body.clone(),
            outbound_key(sequence_id, *step),
        ),
        E::ReplyReceived {
            channel,
            message_id,
            text,
            ..
        } => (
            MessageKind::Reply,
            *channel,
            None,
            text.clone(),
            inbound_key(*channel, message_id.as_str()),
        ),
        E::OutOfOfficeReceived {
            channel,
            message_id,
            text,
            ..
        } => (
            MessageKind::OutOfOffice,
            *channel,
            None,
            text.clone(),
            inbound_key(*channel, message_id.as_str()),
        ),
        E::StepStarted { .. }
        | E::InviteAccepted { .. }
        | E::StepFailed { .. }
        | E::StepOutcomeUnknown { .. }
        | E::StepSkipped { .. }
        | E::SequenceStopped { .. }
        | E::SequenceCompleted { .. } => return Ok(()),
    };
    let Some(sequence) = stage.get::<InboxSequence>(vec![KeyPart::from(sequence_id.as_str())])?
    else {
        // Not loaded yet (the stage asks for it), or a sequence without its start: nothing to
        // attach the message to.
        return Ok(());
    };
    add_message(
        stage,
        event,
        NewMessage {
            workspace_id: sequence.workspace_id,
            lead_id: sequence.lead_id,
            account_id: sequence.account_id,
            campaign_id: Some(sequence.campaign_id),
            sequence_id: Some(sequence_id.clone()),
            key,
            kind,
            channel,
            subject,
            text,
        },
    )
}

fn apply_conversation(
    stage: &mut Stage<'_>,
    event: &Decoded,
    conversation: &ConversationEvent,
) -> Result<(), ProjectionError> {
    match conversation {
        ConversationEvent::InboundMessageReceived {
            workspace_id,
            lead_id,
            account_id,
            channel,
            message_id,
            text,
            ..
        } => add_message(
            stage,
            event,
            NewMessage {
                workspace_id: workspace_id.to_string(),
                lead_id: lead_id.to_string(),
                account_id: account_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                campaign_id: None,
                sequence_id: None,
                key: inbound_key(*channel, message_id.as_str()),
                kind: MessageKind::Inbound,
                channel: *channel,
                subject: None,
                text: text.clone(),
            },
        ),
        ConversationEvent::ConversationRead {
            workspace_id,
            lead_id,
            account_id,
            at,
        } => {
            let threads = match account_id {
                Some(account) => stage
                    .get::<ThreadRow>(vec![
                        KeyPart::from(workspace_id.as_str()),
                        KeyPart::from(lead_id.as_str()),
                        KeyPart::from(account.as_str()),
                    ])?
                    .into_iter()
                    .collect(),
                None => stage.scan::<ThreadRow>(vec![
                    KeyPart::from(workspace_id.as_str()),
                    KeyPart::from(lead_id.as_str()),
                ])?,
            };
            for mut thread in threads {
                thread.unread = 0;
                thread.last_read_at = Some(stamp(*at));
                stage.put_owned(thread);
            }
            Ok(())
        }
    }
}

/// Puts a message into its thread unless a message with its identity is there already.
fn add_message(
    stage: &mut Stage<'_>,
    event: &Decoded,
    m: NewMessage,
) -> Result<(), ProjectionError> {
    let message_key = vec![
        KeyPart::from(m.workspace_id.as_str()),
        KeyPart::from(m.key.as_str()),
    ];
    let thread_key = vec![
        KeyPart::from(m.workspace_id.as_str()),
        KeyPart::from(m.lead_id.as_str()),
        KeyPart::from(m.account_id.as_str()),
    ];
    let missed = stage.missing_reads();
    // Taken, not copied: every way out below puts them back.
    let existing = stage.take::<MessageRow>(message_key)?;
    let thread = stage.take::<ThreadRow>(thread_key)?;
    if existing.is_some() || stage.missing_reads() > missed {
        if let Some(existing) = existing {
            stage.put_owned(existing);
        }
        if let Some(thread) = thread {
            stage.put_owned(thread);
        }
        return Ok(());
    }
    let at = stamp(event.event.at());
    let position = i64::try_from(event.position).unwrap_or(i64::MAX);
    let direction = tag(&m.kind.direction());
    let channel = tag(&m.channel);
    let inbound = m.kind.direction() == super::Direction::Inbound;
    let mut thread = thread.unwrap_or_else(|| ThreadRow {
        workspace_id: m.workspace_id.clone(),
        lead_id: m.lead_id.clone(),
        account_id: m.account_id.clone(),
        campaign_id: m.campaign_id.clone(),
        last_channel: channel.clone(),
        last_direction: direction.clone(),
        last_at: at.clone(),
        last_position: position,
        messages: 0,
        inbound: 0,
        unread: 0,
        last_read_at: None,
    });
    thread.messages += 1;
    if inbound {
        thread.inbound += 1;
        thread.unread += 1;
    }
    // Latest by time, then by log order: a message recorded late with an earlier time does not
    // become the thread's latest.
    if (at.as_str(), position) >= (thread.last_at.as_str(), thread.last_position) {
        thread.last_channel = channel.clone();
        thread.last_direction = direction.clone();
        thread.last_at = at.clone();
        thread.last_position = position;
        if m.campaign_id.is_some() {
            thread.campaign_id = m.campaign_id.clone();
        }
    }
    stage.put_owned(thread);
    stage.put_owned(MessageRow {
        workspace_id: m.workspace_id,
        message_key: m.key,
        lead_id: m.lead_id,
        account_id: m.account_id,
        campaign_id: m.campaign_id,
        sequence_id: m.sequence_id,
        position,
        at,
        direction,
        channel,
        kind: tag(&m.kind),
        subject: m.subject,
        text: m.text,
    });
    Ok(())
}

fn outbound_key(sequence_id: &str, step: u32) -> String {
    format!("out/{sequence_id}/{step}")
}

fn inbound_key(channel: Channel, message_id: &str) -> String {
    format!("in/{channel}/{message_id}")
}
