//! Commands outside the tick (the API's and inbound events) decided one after another on staged
//! state and committed in one append: a lone command is a batch of one, and concurrent inbound
//! events share a commit (group commit) without changing what any of them decides.

use chrono::{DateTime, Utc};
use plera_domain::conversation::{Conversation, ConversationCommand};
use plera_domain::ids::SequenceId;
use plera_domain::lead::{LeadSequence, LeadSequenceCommand, LeadSequenceEvent};
use std::collections::BTreeMap;

use super::book::Book;
use super::schedule_index::DueKey;
use crate::engine::EngineError;
use crate::store::{NewEvent, Tracked};

/// A sequence changed by a batch, not committed yet.
struct StagedSequence {
    next: Tracked<LeadSequence>,
    /// Whether it was active before the batch (finishing it frees its sender's place).
    was_active: bool,
    /// When the latest command on it was taken: it is due again then.
    now: DateTime<Utc>,
}

/// Decisions taken on top of the book and not committed yet: each command sees the state the
/// ones before it left.
#[derive(Default)]
pub(crate) struct Staged {
    records: Vec<NewEvent>,
    sequences: BTreeMap<SequenceId, StagedSequence>,
    conversations: BTreeMap<String, Tracked<Conversation>>,
}

impl Staged {
    /// Whether nothing was decided.
    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl Book {
    /// A sequence's state as `staged` leaves it.
    pub(crate) fn sequence_in<'a>(
        &'a self,
        staged: &'a Staged,
        id: &SequenceId,
    ) -> Option<&'a LeadSequence> {
        staged
            .sequences
            .get(id)
            .map(|s| &s.next.state)
            .or_else(|| self.sequences.get(id).map(|t| &t.state))
    }

    /// Decides `command` on a sequence as `staged` leaves it and stages its events; returns them
    /// (none: nothing changed, a duplicate).
    pub(crate) async fn stage_sequence(
        &self,
        staged: &mut Staged,
        id: &SequenceId,
        command: LeadSequenceCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<LeadSequenceEvent>, EngineError> {
        let (tracked, was_active) = match staged.sequences.get(id) {
            Some(s) => (&s.next, s.was_active),
            None => {
                let tracked = self
                    .sequences
                    .get(id)
                    .ok_or_else(|| EngineError::not_found("sequence", id.as_str()))?;
                (tracked, tracked.state.is_active())
            }
        };
        let decision = tracked
            .decide(id.as_str(), command)
            .await
            .map_err(EngineError::Lead)?;
        if decision.events.is_empty() {
            return Ok(Vec::new());
        }
        staged.records.extend(decision.records);
        staged.sequences.insert(
            id.clone(),
            StagedSequence {
                next: decision.next,
                was_active,
                now,
            },
        );
        Ok(decision.events)
    }

    /// Decides `command` on the conversation `id` as `staged` leaves it and stages its events;
    /// returns whether anything was recorded (a duplicate delivery records nothing).
    pub(crate) async fn stage_conversation(
        &self,
        staged: &mut Staged,
        id: String,
        command: ConversationCommand,
    ) -> Result<bool, EngineError> {
        let tracked = staged
            .conversations
            .get(&id)
            .or_else(|| self.conversations.get(&id))
            .cloned()
            .unwrap_or_default();
        let decision = tracked
            .decide(&id, command)
            .await
            .map_err(|e| EngineError::InvalidInput(e.to_string()))?;
        if decision.events.is_empty() {
            return Ok(false);
        }
        staged.records.extend(decision.records);
        staged.conversations.insert(id, decision.next);
        Ok(true)
    }

    /// Appends everything `staged` decided, in one append, then makes it the book's state. On
    /// an error nothing is recorded and the book is as it was.
    pub(crate) async fn commit_staged(&mut self, staged: Staged) -> Result<(), EngineError> {
        if staged.is_empty() {
            return Ok(());
        }
        self.log.append(staged.records).await?;
        self.conversations.extend(staged.conversations);
        for (id, s) in staged.sequences {
            let now_active = s.next.state.is_active();
            self.sequences.insert(id.clone(), s.next);
            if s.was_active && !now_active {
                self.note_finished(&id);
            }
            self.forget_waiting(&id);
            self.due.set(DueKey::Lead(id), s.now);
        }
        Ok(())
    }
}
