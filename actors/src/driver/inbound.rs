//! Inbound provider events: replies (and out-of-office answers), acceptances, account statuses.

use chrono::{DateTime, Utc};
use plera_domain::conversation::ConversationCommand;
use plera_domain::ids::{AccountId, WorkspaceId};
use plera_domain::lead::{LeadSequenceCommand, LeadSequenceEvent};
use plera_domain::out_of_office::{classify_reply, ReplyKind};
use plera_domain::ports::{AccountStatusSignal, InboundEvent};
use plera_domain::sender::WarningKind;

use super::book::Book;
use super::staged::Staged;
use crate::engine::EngineError;
use crate::sender::SenderMsg;

/// What `ingest` did with an inbound event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Recorded (a reply that stopped the sequence, an out-of-office, an acceptance).
    Recorded,
    /// A delivery seen before: nothing changed.
    Duplicate,
    /// A message from someone in no sequence of the workspace: recorded for the inbox only.
    NoSequence,
    /// Passed to the sender's actor (an account status).
    SenderNotified,
}

/// One inbound event as the engine queued it.
#[derive(Clone, Debug)]
pub struct Inbound {
    /// The workspace it came for.
    pub workspace: WorkspaceId,
    /// The event.
    pub event: InboundEvent,
    /// When the engine took it.
    pub now: DateTime<Utc>,
}

impl Book {
    /// Handles one inbound event.
    pub async fn ingest(&mut self, inbound: Inbound) -> Result<IngestOutcome, EngineError> {
        let Inbound {
            workspace,
            event,
            now,
        } = inbound;
        let workspace = &workspace;
        if let InboundEvent::AccountStatus {
            account,
            status,
            at,
        } = event
        {
            return self
                .account_status(workspace, account, status, at, now)
                .await;
        }
        let mut staged = Staged::default();
        let outcome = self
            .stage_inbound(&mut staged, workspace, event, now)
            .await?;
        self.commit_staged(staged).await?;
        Ok(outcome)
    }

    /// Replies and acceptances decided together, each on the state the ones before it left,
    /// and committed in one append: their answers, or `None` (nothing appended, nothing
    /// changed) when the append failed.
    pub(crate) async fn ingest_together(
        &mut self,
        run: &[Inbound],
    ) -> Option<Vec<Result<IngestOutcome, EngineError>>> {
        let mut staged = Staged::default();
        let mut answers = Vec::with_capacity(run.len());
        for Inbound {
            workspace,
            event,
            now,
        } in run
        {
            answers.push(
                self.stage_inbound(&mut staged, workspace, event.clone(), *now)
                    .await,
            );
        }
        self.commit_staged(staged).await.ok().map(|()| answers)
    }

    /// Decides a reply or an acceptance on the state `staged` leaves (an account status is not
    /// staged: it goes to its sender's actor).
    async fn stage_inbound(
        &self,
        staged: &mut Staged,
        workspace: &WorkspaceId,
        event: InboundEvent,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, EngineError> {
        match event {
            InboundEvent::MessageReceived {
                account,
                lead,
                channel,
                message_id,
                text,
                at,
            } => {
                let account =
                    account.filter(|_| channel == plera_domain::values::Channel::Linkedin);
                let Some(id) = self
                    .sequence_of_lead(staged, workspace, &lead, account.as_ref())
                    .or_else(|| self.sequence_of_lead(staged, workspace, &lead, None))
                else {
                    // Someone in no sequence: the inbox still shows it (once).
                    let recorded = self
                        .stage_conversation(
                            staged,
                            Self::conversation_id(workspace, &lead),
                            ConversationCommand::RecordInbound {
                                workspace_id: workspace.clone(),
                                lead_id: lead.clone(),
                                account_id: account,
                                channel,
                                message_id,
                                text,
                                at: now,
                            },
                        )
                        .await?;
                    return Ok(if recorded {
                        IngestOutcome::NoSequence
                    } else {
                        IngestOutcome::Duplicate
                    });
                };
                let command = match classify_reply(&text, at) {
                    ReplyKind::OutOfOffice { until } => LeadSequenceCommand::RecordOutOfOffice {
                        channel,
                        message_id,
                        text,
                        until,
                        at: now,
                    },
                    ReplyKind::Reply => LeadSequenceCommand::RecordReply {
                        channel,
                        message_id,
                        text,
                        at: now,
                    },
                };
                let events = self.stage_sequence(staged, &id, command, now).await?;
                Ok(recorded_or_duplicate(&events))
            }
            InboundEvent::InviteAccepted { account, lead, .. } => {
                let Some(id) = self.sequence_of_lead(staged, workspace, &lead, Some(&account))
                else {
                    return Ok(IngestOutcome::NoSequence);
                };
                let events = self
                    .stage_sequence(
                        staged,
                        &id,
                        LeadSequenceCommand::RecordInviteAccepted { at: now },
                        now,
                    )
                    .await?;
                Ok(recorded_or_duplicate(&events))
            }
            InboundEvent::AccountStatus { .. } => Err(EngineError::InvalidInput(
                "an account status is not staged".into(),
            )),
        }
    }

    /// Passes an account status to its sender's actor.
    async fn account_status(
        &mut self,
        workspace: &WorkspaceId,
        account: AccountId,
        status: AccountStatusSignal,
        observed_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, EngineError> {
        if !self.registry.belongs_to(&account, workspace) {
            return Err(EngineError::not_found("sender", account.as_str()));
        }
        let kind = match status {
            AccountStatusSignal::Ok => return Ok(IngestOutcome::Duplicate),
            AccountStatusSignal::Restricted => WarningKind::Restricted,
            AccountStatusSignal::CredentialsExpired => WarningKind::SessionExpired,
        };
        let warning = SenderMsg::Warning {
            kind,
            at: now,
            observed_at,
        };
        self.ask_sender(&account, warning).await?;
        Ok(IngestOutcome::SenderNotified)
    }
}

/// A part of an inbound batch: the batch is cut where its account statuses are.
pub(crate) enum InboundPart {
    /// Replies and acceptances, in their order: committed together.
    Run(Vec<Inbound>),
    /// An account status: it goes to its sender's actor, on its own.
    Alone(Inbound),
}

/// Cuts an inbound batch into its parts, in order (no part is empty).
pub(crate) fn in_runs(events: Vec<Inbound>) -> Vec<InboundPart> {
    let mut parts = Vec::new();
    let mut run = Vec::new();
    for inbound in events {
        if matches!(inbound.event, InboundEvent::AccountStatus { .. }) {
            if !run.is_empty() {
                parts.push(InboundPart::Run(std::mem::take(&mut run)));
            }
            parts.push(InboundPart::Alone(inbound));
        } else {
            run.push(inbound);
        }
    }
    if !run.is_empty() {
        parts.push(InboundPart::Run(run));
    }
    parts
}

/// A sequence command's answer to its caller: nothing recorded is a duplicate delivery.
fn recorded_or_duplicate(events: &[LeadSequenceEvent]) -> IngestOutcome {
    if events.is_empty() {
        IngestOutcome::Duplicate
    } else {
        IngestOutcome::Recorded
    }
}
