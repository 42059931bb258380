//! Fixed times and event builders shared by the lead tests.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::lead::{LeadSequenceCommand, LeadSequenceEvent, SkipReason, StopReason};
use crate::values::{Action, Channel, ConnectionDegree};

/// Enrollment time: Monday 2026-03-02 09:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// `days` days and `hours` hours after enrollment.
pub fn day(days: i64, hours: i64) -> DateTime<Utc> {
    t0() + Duration::days(days) + Duration::hours(hours)
}

/// `minutes` minutes after enrollment.
pub fn minute(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

/// A `SequenceStarted` at `t0` with the given degree, email and mailbox.
pub fn started_with(
    degree: ConnectionDegree,
    email_known: bool,
    mailbox: bool,
) -> LeadSequenceEvent {
    LeadSequenceEvent::SequenceStarted {
        workspace_id: "ws-1".into(),
        lead_id: "lead-1".into(),
        campaign_id: "camp-1".into(),
        play: "linkedin-first".into(),
        account_id: "acc-1".into(),
        mailbox_id: mailbox.then(|| "mbx-1".into()),
        connection_degree: degree,
        email_known,
        at: t0(),
    }
}

/// A 2nd-degree lead with a known email and a mailbox on the campaign.
pub fn started() -> LeadSequenceEvent {
    started_with(ConnectionDegree::Second, true, true)
}

/// The `Start` command matching [`started`].
pub fn start_cmd() -> LeadSequenceCommand {
    LeadSequenceCommand::Start {
        workspace_id: "ws-1".into(),
        lead_id: "lead-1".into(),
        campaign_id: "camp-1".into(),
        play: "linkedin-first".into(),
        account_id: "acc-1".into(),
        mailbox_id: Some("mbx-1".into()),
        connection_degree: ConnectionDegree::Second,
        email_known: true,
        at: t0(),
    }
}

/// The endpoint a well-formed step of `action` carries.
fn endpoints(action: Action) -> (Option<crate::ids::AccountId>, Option<crate::ids::MailboxId>) {
    match action {
        Action::Invite | Action::Message => (Some("acc-1".into()), None),
        Action::Email => (None, Some("mbx-1".into())),
    }
}

/// `StartStep` with the right endpoint for `action`.
pub fn start_step_cmd(step: u32, action: Action, at: DateTime<Utc>) -> LeadSequenceCommand {
    let (account_id, mailbox_id) = endpoints(action);
    LeadSequenceCommand::StartStep {
        step,
        action,
        account_id,
        mailbox_id,
        at,
    }
}

/// `StepStarted` with the right endpoint for `action`.
pub fn step_started(step: u32, action: Action, at: DateTime<Utc>) -> LeadSequenceEvent {
    let (account_id, mailbox_id) = endpoints(action);
    LeadSequenceEvent::StepStarted {
        step,
        action,
        account_id,
        mailbox_id,
        at,
    }
}

/// The success event of `action` for `step`.
pub fn sent(step: u32, action: Action, at: DateTime<Utc>) -> LeadSequenceEvent {
    match action {
        Action::Invite => LeadSequenceEvent::InviteSent {
            step,
            account_id: "acc-1".into(),
            note: Some("Hi Ada".into()),
            at,
        },
        Action::Message => LeadSequenceEvent::MessageSent {
            step,
            account_id: "acc-1".into(),
            text: "Thanks for connecting".into(),
            at,
        },
        Action::Email => LeadSequenceEvent::EmailSent {
            step,
            mailbox: "mbx-1".into(),
            subject: "Quick question".into(),
            body: "Hello Ada".into(),
            at,
        },
    }
}

/// The command that records [`sent`].
pub fn record_sent_cmd(step: u32, action: Action, at: DateTime<Utc>) -> LeadSequenceCommand {
    match action {
        Action::Invite => LeadSequenceCommand::RecordInviteSent {
            step,
            account_id: "acc-1".into(),
            note: Some("Hi Ada".into()),
            at,
        },
        Action::Message => LeadSequenceCommand::RecordMessageSent {
            step,
            account_id: "acc-1".into(),
            text: "Thanks for connecting".into(),
            at,
        },
        Action::Email => LeadSequenceCommand::RecordEmailSent {
            step,
            mailbox: "mbx-1".into(),
            subject: "Quick question".into(),
            body: "Hello Ada".into(),
            at,
        },
    }
}

/// `StepStarted` then the success event five seconds later.
pub fn ran(step: u32, action: Action, at: DateTime<Utc>) -> Vec<LeadSequenceEvent> {
    vec![
        step_started(step, action, at),
        sent(step, action, at + Duration::seconds(5)),
    ]
}

/// `StepFailed`.
pub fn failed(step: u32, retryable: bool, at: DateTime<Utc>) -> LeadSequenceEvent {
    LeadSequenceEvent::StepFailed {
        step,
        retryable,
        reason: "provider_error".into(),
        at,
    }
}

/// `StepOutcomeUnknown`.
pub fn unknown(step: u32, at: DateTime<Utc>) -> LeadSequenceEvent {
    LeadSequenceEvent::StepOutcomeUnknown { step, at }
}

/// `StepSkipped`.
pub fn skipped(step: u32, reason: SkipReason, at: DateTime<Utc>) -> LeadSequenceEvent {
    LeadSequenceEvent::StepSkipped { step, reason, at }
}

/// `InviteAccepted`.
pub fn accepted(at: DateTime<Utc>) -> LeadSequenceEvent {
    LeadSequenceEvent::InviteAccepted { at }
}

/// A LinkedIn `ReplyReceived` with provider id `id`.
pub fn reply(id: &str, at: DateTime<Utc>) -> LeadSequenceEvent {
    LeadSequenceEvent::ReplyReceived {
        channel: Channel::Linkedin,
        message_id: id.into(),
        text: "Sounds good".into(),
        at,
    }
}

/// The command that records [`reply`].
pub fn reply_cmd(id: &str, at: DateTime<Utc>) -> LeadSequenceCommand {
    LeadSequenceCommand::RecordReply {
        channel: Channel::Linkedin,
        message_id: id.into(),
        text: "Sounds good".into(),
        at,
    }
}

/// The text of the auto-replies in these tests.
pub const OOO_TEXT: &str = "Automatic reply: I am out of the office until Monday.";

/// An email `OutOfOfficeReceived` with provider id `id`.
pub fn ooo(id: &str, until: Option<DateTime<Utc>>, at: DateTime<Utc>) -> LeadSequenceEvent {
    LeadSequenceEvent::OutOfOfficeReceived {
        channel: Channel::Email,
        message_id: id.into(),
        text: OOO_TEXT.into(),
        until,
        at,
    }
}

/// The command that records [`ooo`].
pub fn ooo_cmd(id: &str, until: Option<DateTime<Utc>>, at: DateTime<Utc>) -> LeadSequenceCommand {
    LeadSequenceCommand::RecordOutOfOffice {
        channel: Channel::Email,
        message_id: id.into(),
        text: OOO_TEXT.into(),
        until,
        at,
    }
}

/// `SequenceStopped`.
pub fn stopped(reason: StopReason, at: DateTime<Utc>) -> LeadSequenceEvent {
    LeadSequenceEvent::SequenceStopped { reason, at }
}

/// `SequenceCompleted`.
pub fn completed(at: DateTime<Utc>) -> LeadSequenceEvent {
    LeadSequenceEvent::SequenceCompleted { at }
}
