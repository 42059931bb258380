//! Invariants 3–5 on each sequence's own events: no step starts after a reply or a stop, every
//! reply is directly followed by `SequenceStopped`; messages go only to accepted or 1st-degree
//! leads; at most one `InviteSent`, and no step's send recorded twice. It also keeps what the log
//! says of every step, for the ledger's "every action recorded" check.

use plera_domain::lead::LeadSequenceEvent;
use plera_domain::values::{Action, ConnectionDegree};
use std::collections::HashMap;

use super::check::{AuditedEvent, Check, Decoded};
use super::senders::SenderBook;
use super::violation::{Rule, Violation};

/// What the log says of one step (`sequence`, `step`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepRecord {
    /// Sends recorded (`InviteSent`, `MessageSent` or `EmailSent`).
    pub sent: u32,
    /// The action of its sends, once one is recorded.
    pub action: Option<Action>,
    /// The last word on it is `StepOutcomeUnknown`: reconciliation is still to come.
    pub unknown: bool,
}

#[derive(Default)]
struct SequenceState {
    first_degree: bool,
    accepted: bool,
    stopped: bool,
    invites: u32,
    /// Position of a reply still waiting for its `SequenceStopped`.
    reply_at: Option<u64>,
}

/// The per-sequence rules.
#[derive(Default)]
pub struct SequenceCheck {
    sequences: HashMap<String, SequenceState>,
    steps: HashMap<(String, u32), StepRecord>,
}

impl SequenceCheck {
    /// What the log says of each step.
    pub fn steps(&self) -> &HashMap<(String, u32), StepRecord> {
        &self.steps
    }

    fn sent(
        &mut self,
        id: &str,
        step: u32,
        action: Action,
        position: u64,
        out: &mut Vec<Violation>,
    ) {
        let record = self.steps.entry((id.to_string(), step)).or_default();
        record.sent += 1;
        record.action = Some(action);
        record.unknown = false;
        // A second invite is reported as such; any other send twice is reported here.
        if record.sent > 1 && action != Action::Invite {
            out.push(Violation::in_log(
                Rule::SideEffectTwice,
                position,
                id,
                format!(
                    "step {step}'s {action} recorded as sent {} times",
                    record.sent
                ),
            ));
        }
    }
}

impl Check for SequenceCheck {
    fn observe(
        &mut self,
        event: &AuditedEvent<'_>,
        _senders: &SenderBook,
        out: &mut Vec<Violation>,
    ) {
        use LeadSequenceEvent as E;
        let Decoded::Lead(lead_event) = event.decoded else {
            return;
        };
        let id = event.stored.aggregate_id.as_str();
        let position = event.stored.position;
        let state = self.sequences.entry(id.to_string()).or_default();
        if let Some(reply) = state.reply_at.take() {
            if !matches!(lead_event, E::SequenceStopped { .. }) {
                out.push(Violation::in_log(
                    Rule::ReplyNotStopped,
                    reply,
                    id,
                    format!(
                        "the reply is followed by {} (position {position}), not SequenceStopped",
                        event.stored.event_type
                    ),
                ));
            }
        }
        match lead_event {
            E::SequenceStarted {
                connection_degree, ..
            } => state.first_degree = *connection_degree == ConnectionDegree::First,
            E::StepStarted { step, action, .. } => {
                if state.stopped {
                    out.push(Violation::in_log(
                        Rule::StepAfterStop,
                        position,
                        id,
                        format!(
                            "step {step} ({action}) started after the sequence replied or stopped"
                        ),
                    ));
                }
            }
            E::InviteAccepted { .. } => state.accepted = true,
            E::ReplyReceived { .. } => {
                state.stopped = true;
                state.reply_at = Some(position);
            }
            E::SequenceStopped { .. } => state.stopped = true,
            E::InviteSent { step, .. } => {
                state.invites += 1;
                if state.invites > 1 {
                    out.push(Violation::in_log(
                        Rule::SecondInvite,
                        position,
                        id,
                        format!(
                            "invite number {} in one sequence (step {step})",
                            state.invites
                        ),
                    ));
                }
                self.sent(id, *step, Action::Invite, position, out);
            }
            E::MessageSent { step, .. } => {
                if !state.accepted && !state.first_degree {
                    out.push(Violation::in_log(
                        Rule::MessageNotConnected,
                        position,
                        id,
                        format!(
                            "message (step {step}) to a lead who neither accepted an invite nor \
                             was 1st-degree at enrollment"
                        ),
                    ));
                }
                self.sent(id, *step, Action::Message, position, out);
            }
            E::EmailSent { step, .. } => self.sent(id, *step, Action::Email, position, out),
            E::StepOutcomeUnknown { step, .. } => {
                self.steps
                    .entry((id.to_string(), *step))
                    .or_default()
                    .unknown = true;
            }
            E::StepFailed { step, .. } => {
                self.steps
                    .entry((id.to_string(), *step))
                    .or_default()
                    .unknown = false;
            }
            E::StepSkipped { .. } | E::OutOfOfficeReceived { .. } | E::SequenceCompleted { .. } => {
            }
        }
    }

    fn finish(&mut self, _senders: &SenderBook, out: &mut Vec<Violation>) {
        let mut open: Vec<(&String, u64)> = self
            .sequences
            .iter()
            .filter_map(|(id, s)| s.reply_at.map(|p| (id, p)))
            .collect();
        open.sort_by_key(|(_, p)| *p);
        for (id, position) in open {
            out.push(Violation::in_log(
                Rule::ReplyNotStopped,
                position,
                id,
                "the reply is the sequence's last event: no SequenceStopped follows".into(),
            ));
        }
    }
}
