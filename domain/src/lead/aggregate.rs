use std::borrow::Borrow;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{LeadSequenceCommand, LeadSequenceError, LeadSequenceEvent, StopReason};
use crate::ids::{AccountId, CampaignId, LeadId, MailboxId, ProviderMessageId, WorkspaceId};
use crate::values::{Action, ConnectionDegree};

/// Where a sequence is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SequenceStatus {
    /// No `SequenceStarted` yet.
    #[default]
    NotStarted,
    /// Steps may still run.
    Active,
    /// Stopped for good; the reason of the latest stop (a reply supersedes an earlier stop, so
    /// that "did this lead reply" reads off the status).
    Stopped {
        /// Why.
        reason: StopReason,
    },
    /// Every step was resolved.
    Completed,
}

/// What was fixed when the lead was enrolled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// Workspace of the campaign.
    pub workspace_id: WorkspaceId,
    /// The lead.
    pub lead_id: LeadId,
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Name of the campaign's play.
    pub play: String,
    /// The sender for LinkedIn steps.
    pub account_id: AccountId,
    /// The mailbox for email steps, if any.
    pub mailbox_id: Option<MailboxId>,
    /// The lead's degree to the sender at enrollment.
    pub connection_degree: ConnectionDegree,
    /// Whether the lead's email is known.
    pub email_known: bool,
    /// When the lead was enrolled.
    pub started_at: DateTime<Utc>,
}

/// Whether a started step's result is awaited or was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    /// The call is running; its outcome will be recorded.
    InFlight,
    /// The call's result was lost: reconcile with the provider before anything else starts.
    OutcomeUnknown,
}

/// A step that started and has no recorded outcome yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingStep {
    /// Index of the step in the play.
    pub step: u32,
    /// What it does.
    pub action: Action,
    /// When it started.
    pub since: DateTime<Utc>,
    /// In flight or unknown.
    pub state: PendingState,
}

/// Retryable failures of the next step, for the back-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retry {
    /// How many attempts of the next step failed retryably.
    pub attempts: u32,
    /// When the latest of them failed.
    pub last_failed_at: DateTime<Utc>,
}

/// One lead's run through one campaign's play.
///
/// The engine keeps every active sequence in memory, so the state holds only what the rules and
/// the schedule need (a few hundred bytes plus the ids): no texts, no history beyond the ids of
/// inbound messages seen, which are few because replies are rare and a reply ends the sequence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadSequence {
    status: SequenceStatus,
    enrollment: Option<Enrollment>,
    next_step: u32,
    pending: Option<PendingStep>,
    retry: Option<Retry>,
    anchor: Option<DateTime<Utc>>,
    invite_sent_at: Option<DateTime<Utc>>,
    accepted_at: Option<DateTime<Utc>>,
    ooo_until: Option<DateTime<Utc>>,
    seen_messages: Vec<ProviderMessageId>,
}

impl LeadSequence {
    /// The state after `events`, in order: the same fold the event store performs on load.
    pub fn from_events<I>(events: I) -> Self
    where
        I: IntoIterator,
        I::Item: Borrow<LeadSequenceEvent>,
    {
        let mut seq = Self::default();
        for event in events {
            seq.fold(event.borrow());
        }
        seq
    }

    /// The events `command` produces on this state, or why it is refused; `handle` writes these.
    pub fn decide(
        &self,
        command: LeadSequenceCommand,
    ) -> Result<Vec<LeadSequenceEvent>, LeadSequenceError> {
        use LeadSequenceCommand as C;
        use LeadSequenceEvent as E;
        if let C::Start {
            workspace_id,
            lead_id,
            campaign_id,
            play,
            account_id,
            mailbox_id,
            connection_degree,
            email_known,
            at,
        } = command
        {
            if self.enrollment.is_some() {
                return Err(LeadSequenceError::AlreadyStarted);
            }
            return Ok(vec![E::SequenceStarted {
                workspace_id,
                lead_id,
                campaign_id,
                play,
                account_id,
                mailbox_id,
                connection_degree,
                email_known,
                at,
            }]);
        }
        if self.enrollment.is_none() {
            return Err(LeadSequenceError::NotStarted);
        }
        match command {
            C::Start { .. } => Err(LeadSequenceError::AlreadyStarted),
            C::StartStep {
                step,
                action,
                account_id,
                mailbox_id,
                at,
            } => {
                self.check_can_begin(step)?;
                self.check_action_allowed(action, account_id.is_some(), mailbox_id.is_some())?;
                Ok(vec![E::StepStarted {
                    step,
                    action,
                    account_id,
                    mailbox_id,
                    at,
                }])
            }
            C::RecordInviteSent {
                step,
                account_id,
                note,
                at,
            } => {
                self.pending_for(step, Some(Action::Invite))?;
                Ok(vec![E::InviteSent {
                    step,
                    account_id,
                    note,
                    at,
                }])
            }
            C::RecordMessageSent {
                step,
                account_id,
                text,
                at,
            } => {
                self.pending_for(step, Some(Action::Message))?;
                Ok(vec![E::MessageSent {
                    step,
                    account_id,
                    text,
                    at,
                }])
            }
            C::RecordEmailSent {
                step,
                mailbox,
                subject,
                body,
                at,
            } => {
                self.pending_for(step, Some(Action::Email))?;
                Ok(vec![E::EmailSent {
                    step,
                    mailbox,
                    subject,
                    body,
                    at,
                }])
            }
            C::RecordStepFailed {
                step,
                retryable,
                reason,
                at,
            } => {
                self.pending_for(step, None)?;
                Ok(vec![E::StepFailed {
                    step,
                    retryable,
                    reason,
                    at,
                }])
            }
            C::RecordOutcomeUnknown { step, at } => match self.pending_for(step, None)?.state {
                PendingState::InFlight => Ok(vec![E::StepOutcomeUnknown { step, at }]),
                // Already recorded: a runtime retrying after a crash must not fail here.
                PendingState::OutcomeUnknown => Ok(vec![]),
            },
            C::SkipStep { step, reason, at } => {
                self.check_can_begin(step)?;
                Ok(vec![E::StepSkipped { step, reason, at }])
            }
            C::RecordInviteAccepted { at } => Ok(if self.accepted_at.is_some() {
                vec![]
            } else {
                vec![E::InviteAccepted { at }]
            }),
            C::RecordReply {
                channel,
                message_id,
                text,
                at,
            } => Ok(if self.has_seen(&message_id) {
                vec![]
            } else {
                vec![
                    E::ReplyReceived {
                        channel,
                        message_id,
                        text,
                        at,
                    },
                    E::SequenceStopped {
                        reason: StopReason::Replied,
                        at,
                    },
                ]
            }),
            C::RecordOutOfOffice {
                channel,
                message_id,
                text,
                until,
                at,
            } => Ok(if self.has_seen(&message_id) {
                vec![]
            } else {
                vec![E::OutOfOfficeReceived {
                    channel,
                    message_id,
                    text,
                    until,
                    at,
                }]
            }),
            C::Stop { reason, at } => match self.status {
                SequenceStatus::Completed => Err(LeadSequenceError::Completed),
                SequenceStatus::Stopped { .. } => Ok(vec![]),
                _ => Ok(vec![E::SequenceStopped { reason, at }]),
            },
            C::Complete { at } => {
                self.check_open()?;
                self.check_idle()?;
                Ok(vec![E::SequenceCompleted { at }])
            }
        }
    }

    /// Refuses a new step (start or skip) unless the sequence is open, idle and `step` is next.
    fn check_can_begin(&self, step: u32) -> Result<(), LeadSequenceError> {
        self.check_open()?;
        self.check_idle()?;
        if step != self.next_step {
            return Err(LeadSequenceError::StepOutOfOrder {
                expected: self.next_step,
                got: step,
            });
        }
        Ok(())
    }

    fn check_open(&self) -> Result<(), LeadSequenceError> {
        match self.status {
            SequenceStatus::Stopped { .. } => Err(LeadSequenceError::Stopped),
            SequenceStatus::Completed => Err(LeadSequenceError::Completed),
            SequenceStatus::NotStarted => Err(LeadSequenceError::NotStarted),
            SequenceStatus::Active => Ok(()),
        }
    }

    fn check_idle(&self) -> Result<(), LeadSequenceError> {
        match self.pending {
            Some(PendingStep {
                step,
                state: PendingState::InFlight,
                ..
            }) => Err(LeadSequenceError::StepInFlight(step)),
            Some(PendingStep {
                step,
                state: PendingState::OutcomeUnknown,
                ..
            }) => Err(LeadSequenceError::OutcomeUnknown(step)),
            None => Ok(()),
        }
    }

    fn check_action_allowed(
        &self,
        action: Action,
        has_account: bool,
        has_mailbox: bool,
    ) -> Result<(), LeadSequenceError> {
        match action {
            Action::Invite if self.invite_sent_at.is_some() => {
                Err(LeadSequenceError::InviteAlreadySent)
            }
            Action::Message if !self.is_connected() => Err(LeadSequenceError::NotFirstDegree),
            Action::Invite | Action::Message if !has_account => {
                Err(LeadSequenceError::MissingChannelEndpoint(action))
            }
            Action::Email if !has_mailbox => Err(LeadSequenceError::MissingChannelEndpoint(action)),
            _ => Ok(()),
        }
    }

    /// The started step `step` (in flight or unknown), checked against `action` when given.
    /// Deliberately not gated on the status: an outcome that really happened after a stop must
    /// still be on record.
    fn pending_for(
        &self,
        step: u32,
        action: Option<Action>,
    ) -> Result<PendingStep, LeadSequenceError> {
        match self.pending {
            Some(p) if p.step == step => match action {
                Some(got) if got != p.action => Err(LeadSequenceError::WrongAction {
                    step,
                    expected: p.action,
                    got,
                }),
                _ => Ok(p),
            },
            _ => Err(LeadSequenceError::NoSuchStepInFlight(step)),
        }
    }

    fn fold(&mut self, event: &LeadSequenceEvent) {
        use LeadSequenceEvent as E;
        match event {
            E::SequenceStarted {
                workspace_id,
                lead_id,
                campaign_id,
                play,
                account_id,
                mailbox_id,
                connection_degree,
                email_known,
                at,
            } => {
                self.status = SequenceStatus::Active;
                self.enrollment = Some(Enrollment {
                    workspace_id: workspace_id.clone(),
                    lead_id: lead_id.clone(),
                    campaign_id: campaign_id.clone(),
                    play: play.clone(),
                    account_id: account_id.clone(),
                    mailbox_id: mailbox_id.clone(),
                    connection_degree: *connection_degree,
                    email_known: *email_known,
                    started_at: *at,
                });
                self.anchor = Some(*at);
            }
            E::StepStarted {
                step, action, at, ..
            } => {
                self.pending = Some(PendingStep {
                    step: *step,
                    action: *action,
                    since: *at,
                    state: PendingState::InFlight,
                });
            }
            E::InviteSent { step, at, .. } => {
                self.invite_sent_at.get_or_insert(*at);
                self.resolve(*step, *at);
            }
            E::MessageSent { step, at, .. }
            | E::EmailSent { step, at, .. }
            | E::StepSkipped { step, at, .. } => self.resolve(*step, *at),
            E::StepFailed {
                step,
                retryable: false,
                at,
                ..
            } => self.resolve(*step, *at),
            E::StepFailed {
                step,
                retryable: true,
                at,
                ..
            } => {
                self.clear_pending(*step);
                let attempts = match self.retry {
                    Some(r) if self.next_step == *step => r.attempts.saturating_add(1),
                    _ => 1,
                };
                self.next_step = *step;
                self.retry = Some(Retry {
                    attempts,
                    last_failed_at: *at,
                });
            }
            E::StepOutcomeUnknown { step, .. } => {
                if let Some(p) = self.pending.as_mut().filter(|p| p.step == *step) {
                    p.state = PendingState::OutcomeUnknown;
                }
            }
            E::InviteAccepted { at } => {
                self.accepted_at.get_or_insert(*at);
            }
            E::ReplyReceived { message_id, .. } => self.remember(message_id),
            E::OutOfOfficeReceived {
                message_id, until, ..
            } => {
                self.remember(message_id);
                if let Some(until) = until {
                    self.ooo_until = Some(self.ooo_until.map_or(*until, |u| u.max(*until)));
                }
            }
            E::SequenceStopped { reason, .. } => {
                self.status = SequenceStatus::Stopped { reason: *reason };
            }
            E::SequenceCompleted { .. } => self.status = SequenceStatus::Completed,
        }
    }

    /// `step` is done for good (sent, failed for good, skipped): the next one anchors here.
    fn resolve(&mut self, step: u32, at: DateTime<Utc>) {
        self.clear_pending(step);
        self.next_step = step.saturating_add(1);
        self.retry = None;
        self.anchor = Some(at);
    }

    fn clear_pending(&mut self, step: u32) {
        if self.pending.is_some_and(|p| p.step == step) {
            self.pending = None;
        }
    }

    fn remember(&mut self, message_id: &ProviderMessageId) {
        if !self.has_seen(message_id) {
            self.seen_messages.push(message_id.clone());
        }
    }

    /// Where the sequence is in its life.
    pub fn status(&self) -> SequenceStatus {
        self.status
    }

    /// Whether steps may still run.
    pub fn is_active(&self) -> bool {
        self.status == SequenceStatus::Active
    }

    /// What was fixed at enrollment; `None` before `SequenceStarted`.
    pub fn enrollment(&self) -> Option<&Enrollment> {
        self.enrollment.as_ref()
    }

    /// The sender of the LinkedIn steps.
    pub fn account_id(&self) -> Option<&AccountId> {
        self.enrollment.as_ref().map(|e| &e.account_id)
    }

    /// The mailbox of the email steps.
    pub fn mailbox_id(&self) -> Option<&MailboxId> {
        self.enrollment.as_ref().and_then(|e| e.mailbox_id.as_ref())
    }

    /// Name of the play the sequence runs.
    pub fn play(&self) -> Option<&str> {
        self.enrollment.as_ref().map(|e| e.play.as_str())
    }

    /// Index of the step that comes next (the one a retry repeats after a retryable failure).
    pub fn next_step_index(&self) -> u32 {
        self.next_step
    }

    /// The started step without a recorded outcome, in flight or unknown.
    pub fn pending(&self) -> Option<PendingStep> {
        self.pending
    }

    /// The step whose call is running.
    pub fn step_in_flight(&self) -> Option<PendingStep> {
        self.pending.filter(|p| p.state == PendingState::InFlight)
    }

    /// The step whose outcome was lost and must be reconciled.
    pub fn unknown_outcome(&self) -> Option<PendingStep> {
        self.pending
            .filter(|p| p.state == PendingState::OutcomeUnknown)
    }

    /// Retryable failures of the next step so far.
    pub fn retry(&self) -> Option<Retry> {
        self.retry
    }

    /// When the latest step was resolved, or the sequence started: the next step's delay counts
    /// from here.
    pub fn anchor(&self) -> Option<DateTime<Utc>> {
        self.anchor
    }

    /// When the invite reached LinkedIn.
    pub fn invite_sent_at(&self) -> Option<DateTime<Utc>> {
        self.invite_sent_at
    }

    /// When the lead accepted the invite.
    pub fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.accepted_at
    }

    /// Whether messages may go to the lead: 1st-degree at enrollment or accepted since.
    pub fn is_connected(&self) -> bool {
        self.accepted_at.is_some()
            || self
                .enrollment
                .as_ref()
                .is_some_and(|e| e.connection_degree == ConnectionDegree::First)
    }

    /// Until when the lead is out of office (the latest return date announced).
    pub fn ooo_until(&self) -> Option<DateTime<Utc>> {
        self.ooo_until
    }

    /// Whether an inbound message with this provider id was recorded (reply or out-of-office).
    pub fn has_seen(&self, message_id: &ProviderMessageId) -> bool {
        self.seen_messages.contains(message_id)
    }
}

impl Aggregate for LeadSequence {
    const TYPE: &'static str = "lead_sequence";
    type Command = LeadSequenceCommand;
    type Event = LeadSequenceEvent;
    type Error = LeadSequenceError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.fold(&event);
    }
}
