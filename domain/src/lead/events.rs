use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, CampaignId, LeadId, MailboxId, ProviderMessageId, WorkspaceId};
use crate::values::{Action, Channel, ConnectionDegree};

/// Why a sequence stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The lead replied on any channel.
    Replied,
    /// The lead asked not to be contacted.
    OptedOut,
    /// A user stopped the lead.
    Manual,
    /// The lead cannot be reached (invalid or blocked recipient, no channel left).
    LeadUnreachable,
    /// The sequence's sender was disconnected.
    SenderDisconnected,
}

/// Why a step was passed over instead of run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The step's condition did not hold (e.g. `if_accepted` and the invite was not accepted).
    ConditionNotMet,
    /// An email step for a lead whose email is not known.
    EmailUnknown,
    /// A message step to a lead who is not a 1st-degree connection.
    NotConnected,
    /// An invite to a lead who is already a connection.
    AlreadyConnected,
    /// LinkedIn refuses a new invite to this person for now (`cannot_resend_yet` for the lead).
    CannotInviteYet,
    /// LinkedIn refuses the action for this lead (invalid, blocked or unreachable recipient).
    RecipientRefused,
    /// The step's texts could not be rendered for this lead (a missing template variable or lead
    /// profile, a note over the tier's length): nothing was sent, and the log says why.
    RenderFailed,
}

/// Events of the `LeadSequence` aggregate (DESIGN §4), stored with an internal `type` tag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LeadSequenceEvent {
    /// The lead was enrolled in a campaign.
    SequenceStarted {
        /// Workspace of the campaign.
        workspace_id: WorkspaceId,
        /// The lead.
        lead_id: LeadId,
        /// The campaign.
        campaign_id: CampaignId,
        /// Name of the campaign's play.
        play: String,
        /// The sender that runs the LinkedIn steps.
        account_id: AccountId,
        /// The mailbox that sends the email steps, if the campaign has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mailbox_id: Option<MailboxId>,
        /// The lead's degree to the sender at enrollment.
        connection_degree: ConnectionDegree,
        /// Whether the lead's email address is known (the address itself stays out of the log).
        email_known: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// A step began: its side effect may happen from here on. Quotas count this event.
    StepStarted {
        /// Index of the step in the play.
        step: u32,
        /// What the step does.
        action: Action,
        /// The sender, for LinkedIn actions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<AccountId>,
        /// The mailbox, for email actions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mailbox_id: Option<MailboxId>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The invite reached LinkedIn.
    InviteSent {
        /// The step.
        step: u32,
        /// The sender.
        account_id: AccountId,
        /// The rendered note, if the invite carried one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The lead accepted the invite (or turned out to be connected already).
    InviteAccepted {
        /// When.
        at: DateTime<Utc>,
    },
    /// A LinkedIn direct message reached LinkedIn.
    MessageSent {
        /// The step.
        step: u32,
        /// The sender.
        account_id: AccountId,
        /// The rendered message.
        text: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An email left the mailbox.
    EmailSent {
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
    /// The step's call failed; a retryable failure runs the step again later.
    StepFailed {
        /// The step.
        step: u32,
        /// Whether the step may be tried again.
        retryable: bool,
        /// The provider's error class (e.g. `provider_error`), never a credential.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The call's result was lost (timeout, crash): reconcile with the provider before anything else.
    StepOutcomeUnknown {
        /// The step.
        step: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// A step was passed over; the play goes on with the next one.
    StepSkipped {
        /// The step.
        step: u32,
        /// Why.
        reason: SkipReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// The lead replied. Always followed by `SequenceStopped { reason: replied }` in the same commit.
    ReplyReceived {
        /// The channel of the reply.
        channel: Channel,
        /// The provider's message id, used to drop duplicate deliveries.
        message_id: ProviderMessageId,
        /// The reply's text, for the unified inbox.
        #[serde(default)]
        text: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An automatic out-of-office answer: not a reply; the lead waits until `until` if given.
    OutOfOfficeReceived {
        /// The channel.
        channel: Channel,
        /// The provider's message id.
        message_id: ProviderMessageId,
        /// The auto-reply's text, for the unified inbox.
        #[serde(default)]
        text: String,
        /// The return date, if the message gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The sequence stopped for good; no step starts after this.
    SequenceStopped {
        /// Why.
        reason: StopReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// Every step of the play was resolved.
    SequenceCompleted {
        /// When.
        at: DateTime<Utc>,
    },
}

impl LeadSequenceEvent {
    /// When the event happened.
    pub fn at(&self) -> DateTime<Utc> {
        use LeadSequenceEvent::*;
        match self {
            SequenceStarted { at, .. }
            | StepStarted { at, .. }
            | InviteSent { at, .. }
            | InviteAccepted { at }
            | MessageSent { at, .. }
            | EmailSent { at, .. }
            | StepFailed { at, .. }
            | StepOutcomeUnknown { at, .. }
            | StepSkipped { at, .. }
            | ReplyReceived { at, .. }
            | OutOfOfficeReceived { at, .. }
            | SequenceStopped { at, .. }
            | SequenceCompleted { at } => *at,
        }
    }
}

impl DomainEvent for LeadSequenceEvent {
    fn event_type(&self) -> String {
        use LeadSequenceEvent::*;
        match self {
            SequenceStarted { .. } => "SequenceStarted",
            StepStarted { .. } => "StepStarted",
            InviteSent { .. } => "InviteSent",
            InviteAccepted { .. } => "InviteAccepted",
            MessageSent { .. } => "MessageSent",
            EmailSent { .. } => "EmailSent",
            StepFailed { .. } => "StepFailed",
            StepOutcomeUnknown { .. } => "StepOutcomeUnknown",
            StepSkipped { .. } => "StepSkipped",
            ReplyReceived { .. } => "ReplyReceived",
            OutOfOfficeReceived { .. } => "OutOfOfficeReceived",
            SequenceStopped { .. } => "SequenceStopped",
            SequenceCompleted { .. } => "SequenceCompleted",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_string()
    }
}
