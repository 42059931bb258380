//! Inbound provider events: replies (and out-of-office answers), acceptances, account statuses.

use chrono::{DateTime, Utc};
use plera_domain::conversation::ConversationCommand;
use plera_domain::ids::WorkspaceId;
use plera_domain::lead::LeadSequenceCommand;
use plera_domain::out_of_office::{classify_reply, ReplyKind};
use plera_domain::ports::{AccountStatusSignal, InboundEvent};
use plera_domain::sender::WarningKind;

use super::book::Book;
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

impl Book {
    /// Handles one inbound event for `workspace`.
    pub async fn ingest(
        &mut self,
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
                    .sequence_of_lead(workspace, &lead, account.as_ref())
                    .or_else(|| self.sequence_of_lead(workspace, &lead, None))
                else {
                    // Someone in no sequence: the inbox still shows it (once).
                    let recorded = self
                        .command_conversation(
                            workspace,
                            &lead,
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
                let events = self.command_sequence(&id, command, now).await?;
                Ok(if events.is_empty() {
                    IngestOutcome::Duplicate
                } else {
                    IngestOutcome::Recorded
                })
            }
            InboundEvent::InviteAccepted { account, lead, .. } => {
                let Some(id) = self.sequence_of_lead(workspace, &lead, Some(&account)) else {
                    return Ok(IngestOutcome::NoSequence);
                };
                let events = self
                    .command_sequence(
                        &id,
                        LeadSequenceCommand::RecordInviteAccepted { at: now },
                        now,
                    )
                    .await?;
                Ok(if events.is_empty() {
                    IngestOutcome::Duplicate
                } else {
                    IngestOutcome::Recorded
                })
            }
            InboundEvent::AccountStatus {
                account,
                status,
                at: observed_at,
            } => {
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
    }
}
