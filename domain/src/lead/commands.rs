use chrono::{DateTime, Utc};

use super::{SkipReason, StopReason};
use crate::ids::{AccountId, CampaignId, LeadId, MailboxId, ProviderMessageId, WorkspaceId};
use crate::values::{Action, Channel, ConnectionDegree};

/// Commands to the `LeadSequence` aggregate; every one carries its `at` from the engine's clock.
#[derive(Clone, Debug, PartialEq)]
pub enum LeadSequenceCommand {
    /// Enroll the lead.
    Start {
        /// Workspace of the campaign.
        workspace_id: WorkspaceId,
        /// The lead.
        lead_id: LeadId,
        /// The campaign.
        campaign_id: CampaignId,
        /// Name of the campaign's play.
        play: String,
        /// The sender for LinkedIn steps.
        account_id: AccountId,
        /// The mailbox for email steps.
        mailbox_id: Option<MailboxId>,
        /// The lead's degree to the sender.
        connection_degree: ConnectionDegree,
        /// Whether the lead's email is known.
        email_known: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Begin a step: refused once the sequence stopped, while another step is in flight or
    /// unreconciled, for a second invite, and for a message to a lead who is not 1st-degree.
    StartStep {
        /// Index of the step in the play.
        step: u32,
        /// What it does.
        action: Action,
        /// The sender, for LinkedIn actions.
        account_id: Option<AccountId>,
        /// The mailbox, for emails.
        mailbox_id: Option<MailboxId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The invite of the step in flight reached LinkedIn.
    RecordInviteSent {
        /// The step.
        step: u32,
        /// The sender.
        account_id: AccountId,
        /// The rendered note.
        note: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The message of the step in flight reached LinkedIn.
    RecordMessageSent {
        /// The step.
        step: u32,
        /// The sender.
        account_id: AccountId,
        /// The rendered text.
        text: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The email of the step in flight left the mailbox.
    RecordEmailSent {
        /// The step.
        step: u32,
        /// The mailbox.
        mailbox: MailboxId,
        /// The rendered subject.
        subject: String,
        /// The rendered body.
        body: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The step's call failed.
    RecordStepFailed {
        /// The step.
        step: u32,
        /// Whether it may be tried again.
        retryable: bool,
        /// The provider's error class.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The step's result was lost.
    RecordOutcomeUnknown {
        /// The step.
        step: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// Pass over a step (condition not met, lead-specific refusal).
    SkipStep {
        /// The step.
        step: u32,
        /// Why.
        reason: SkipReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// The lead accepted the invite (or is connected already).
    RecordInviteAccepted {
        /// When.
        at: DateTime<Utc>,
    },
    /// The lead replied: records the reply and stops the sequence; a known message id does nothing.
    RecordReply {
        /// The channel.
        channel: Channel,
        /// The provider's message id.
        message_id: ProviderMessageId,
        /// The reply text.
        text: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An out-of-office answer arrived; a known message id does nothing.
    RecordOutOfOffice {
        /// The channel.
        channel: Channel,
        /// The provider's message id.
        message_id: ProviderMessageId,
        /// The auto-reply's text.
        text: String,
        /// The return date, if given.
        until: Option<DateTime<Utc>>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Stop the sequence.
    Stop {
        /// Why.
        reason: StopReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// Mark the sequence complete (every step resolved).
    Complete {
        /// When.
        at: DateTime<Utc>,
    },
}
