//! The published event contract: every variant serializes flat with its `type` tag and reads back
//! unchanged.

use serde_json::{json, Value};

use super::support::*;
use crate::lead::{LeadSequenceEvent, SkipReason, StopReason};
use crate::values::{Action, ConnectionDegree};

const AT: &str = "2026-03-02T09:00:00Z";

fn assert_json(event: LeadSequenceEvent, expected: Value) {
    let written = serde_json::to_value(&event).expect("events serialize");
    assert_eq!(written, expected);
    let read: LeadSequenceEvent = serde_json::from_value(expected).expect("events deserialize");
    assert_eq!(read, event);
}

#[test]
fn sequence_started() {
    assert_json(
        started_with(ConnectionDegree::Second, true, true),
        json!({"type": "SequenceStarted", "workspace_id": "ws-1", "lead_id": "lead-1",
               "campaign_id": "camp-1", "play": "linkedin-first", "account_id": "acc-1",
               "mailbox_id": "mbx-1", "connection_degree": "second", "email_known": true,
               "at": AT}),
    );
}

#[test]
fn sequence_started_without_mailbox_omits_it() {
    assert_json(
        started_with(ConnectionDegree::First, false, false),
        json!({"type": "SequenceStarted", "workspace_id": "ws-1", "lead_id": "lead-1",
               "campaign_id": "camp-1", "play": "linkedin-first", "account_id": "acc-1",
               "connection_degree": "first", "email_known": false, "at": AT}),
    );
}

#[test]
fn step_started() {
    assert_json(
        super::support::step_started(0, Action::Invite, t0()),
        json!({"type": "StepStarted", "step": 0, "action": "invite", "account_id": "acc-1",
               "at": AT}),
    );
    assert_json(
        super::support::step_started(2, Action::Email, t0()),
        json!({"type": "StepStarted", "step": 2, "action": "email", "mailbox_id": "mbx-1",
               "at": AT}),
    );
}

#[test]
fn invite_sent() {
    assert_json(
        sent(0, Action::Invite, t0()),
        json!({"type": "InviteSent", "step": 0, "account_id": "acc-1", "note": "Hi Ada",
               "at": AT}),
    );
    assert_json(
        LeadSequenceEvent::InviteSent {
            step: 0,
            account_id: "acc-1".into(),
            note: None,
            at: t0(),
        },
        json!({"type": "InviteSent", "step": 0, "account_id": "acc-1", "at": AT}),
    );
}

#[test]
fn invite_accepted() {
    assert_json(accepted(t0()), json!({"type": "InviteAccepted", "at": AT}));
}

#[test]
fn message_sent() {
    assert_json(
        sent(2, Action::Message, t0()),
        json!({"type": "MessageSent", "step": 2, "account_id": "acc-1",
               "text": "Thanks for connecting", "at": AT}),
    );
}

#[test]
fn email_sent() {
    assert_json(
        sent(1, Action::Email, t0()),
        json!({"type": "EmailSent", "step": 1, "mailbox": "mbx-1", "subject": "Quick question",
               "body": "Hello Ada", "at": AT}),
    );
}

#[test]
fn step_failed() {
    assert_json(
        failed(1, true, t0()),
        json!({"type": "StepFailed", "step": 1, "retryable": true, "reason": "provider_error",
               "at": AT}),
    );
}

#[test]
fn step_outcome_unknown() {
    assert_json(
        unknown(1, t0()),
        json!({"type": "StepOutcomeUnknown", "step": 1, "at": AT}),
    );
}

#[test]
fn step_skipped() {
    assert_json(
        skipped(0, SkipReason::AlreadyConnected, t0()),
        json!({"type": "StepSkipped", "step": 0, "reason": "already_connected", "at": AT}),
    );
    assert_json(
        skipped(3, SkipReason::CannotInviteYet, t0()),
        json!({"type": "StepSkipped", "step": 3, "reason": "cannot_invite_yet", "at": AT}),
    );
}

#[test]
fn reply_received() {
    assert_json(
        reply("m-1", t0()),
        json!({"type": "ReplyReceived", "channel": "linkedin", "message_id": "m-1",
               "text": "Sounds good", "at": AT}),
    );
}

#[test]
fn reply_received_without_text_reads_as_empty() {
    let read: LeadSequenceEvent = serde_json::from_value(
        json!({"type": "ReplyReceived", "channel": "email", "message_id": "m-1", "at": AT}),
    )
    .expect("an old reply without text deserializes");
    assert_eq!(
        read,
        LeadSequenceEvent::ReplyReceived {
            channel: crate::values::Channel::Email,
            message_id: "m-1".into(),
            text: String::new(),
            at: t0(),
        }
    );
}

#[test]
fn out_of_office_received() {
    assert_json(
        ooo("m-9", Some(day(7, 0)), t0()),
        json!({"type": "OutOfOfficeReceived", "channel": "email", "message_id": "m-9",
               "text": OOO_TEXT, "until": "2026-03-09T09:00:00Z", "at": AT}),
    );
    assert_json(
        ooo("m-9", None, t0()),
        json!({"type": "OutOfOfficeReceived", "channel": "email", "message_id": "m-9",
               "text": OOO_TEXT, "at": AT}),
    );
}

#[test]
fn sequence_stopped() {
    assert_json(
        stopped(StopReason::Replied, t0()),
        json!({"type": "SequenceStopped", "reason": "replied", "at": AT}),
    );
    assert_json(
        stopped(StopReason::SenderDisconnected, t0()),
        json!({"type": "SequenceStopped", "reason": "sender_disconnected", "at": AT}),
    );
}

#[test]
fn sequence_completed() {
    assert_json(
        completed(t0()),
        json!({"type": "SequenceCompleted", "at": AT}),
    );
}
