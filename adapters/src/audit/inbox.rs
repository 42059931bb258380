//! Invariant 7: every inbound reply appears exactly once in the unified inbox, and duplicate
//! deliveries change nothing.
//!
//! The check reads the log on its own terms, not the view's: an inbound message is identified by
//! workspace, channel and the provider's message id, its first delivery is the one that counts,
//! and it belongs in the thread of its lead with the sequence's sender (or the sender the message
//! came through, for someone in no sequence). The live `inbox_messages` rows must hold each such
//! message once, at its first delivery's log position, in that thread, with its text; no other
//! inbound row may exist, and each thread's inbound count must be what the log gave it. Only the
//! log up to the inbox's checkpoint is judged: events after it are not in the view yet.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use plera_domain::conversation::ConversationEvent;
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::values::Channel;
use plera_projections::inbox::{MessageRow, ThreadRow, INBOX};
use plera_projections::rows::Record;

use super::check::{AuditedEvent, Check, Decoded};
use super::senders::SenderBook;
use super::views::LiveViews;
use super::violation::{Rule, Violation};

/// A thread: workspace, lead, sender account (`""` when no sender is involved).
type ThreadKey = (String, String, String);

/// An inbound message's identity: workspace, channel, provider message id.
type Identity = (String, String, String);

/// An inbound message as the log records it at its first delivery.
#[derive(Clone, Debug)]
struct Inbound {
    position: u64,
    thread: ThreadKey,
    kind: &'static str,
    text: String,
}

/// The invariant 7 check (see the module documentation).
pub struct InboxCheck {
    live: Arc<LiveViews>,
    upto: u64,
    sequences: HashMap<String, ThreadKey>,
    messages: BTreeMap<Identity, Inbound>,
    /// Positions of later deliveries of a known message.
    duplicates: HashMap<u64, Identity>,
    /// Inbound messages of sequences the log never started: no thread can hold them.
    orphans: Vec<(u64, String, String)>,
}

impl InboxCheck {
    /// A check of the inbox in `live`, up to its checkpoint.
    pub fn new(live: Arc<LiveViews>) -> Self {
        let upto = live.position(INBOX);
        Self {
            live,
            upto,
            sequences: HashMap::new(),
            messages: BTreeMap::new(),
            duplicates: HashMap::new(),
            orphans: Vec::new(),
        }
    }

    fn record(&mut self, position: u64, identity: Identity, message: Inbound) {
        match self.messages.entry(identity) {
            Entry::Occupied(first) => {
                self.duplicates.insert(position, first.key().clone());
            }
            Entry::Vacant(slot) => {
                slot.insert(message);
            }
        }
    }

    fn sequence_message(
        &mut self,
        event: &AuditedEvent<'_>,
        channel: Channel,
        message_id: &str,
        kind: &'static str,
        text: &str,
    ) {
        let Some(thread) = self.sequences.get(&event.stored.aggregate_id).cloned() else {
            // A sequence without its start: no thread can hold the message, so it cannot be in
            // the inbox (unless something put it there some other way).
            self.orphans.push((
                event.stored.position,
                event.stored.aggregate_id.clone(),
                format!("the {kind} {message_id} ({channel})"),
            ));
            return;
        };
        let identity = (
            thread.0.clone(),
            channel.to_string(),
            message_id.to_string(),
        );
        let message = Inbound {
            position: event.stored.position,
            thread,
            kind,
            text: text.to_string(),
        };
        self.record(event.stored.position, identity, message);
    }
}

impl Check for InboxCheck {
    fn observe(
        &mut self,
        event: &AuditedEvent<'_>,
        _senders: &SenderBook,
        _out: &mut Vec<Violation>,
    ) {
        if event.stored.position > self.upto {
            return;
        }
        match event.decoded {
            Decoded::Lead(LeadSequenceEvent::SequenceStarted {
                workspace_id,
                lead_id,
                account_id,
                ..
            }) => {
                self.sequences.insert(
                    event.stored.aggregate_id.clone(),
                    (
                        workspace_id.to_string(),
                        lead_id.to_string(),
                        account_id.to_string(),
                    ),
                );
            }
            Decoded::Lead(LeadSequenceEvent::ReplyReceived {
                channel,
                message_id,
                text,
                ..
            }) => self.sequence_message(event, *channel, message_id.as_str(), "reply", text),
            Decoded::Lead(LeadSequenceEvent::OutOfOfficeReceived {
                channel,
                message_id,
                text,
                ..
            }) => {
                self.sequence_message(event, *channel, message_id.as_str(), "out_of_office", text)
            }
            Decoded::Other if event.stored.event_type == "InboundMessageReceived" => {
                let Ok(ConversationEvent::InboundMessageReceived {
                    workspace_id,
                    lead_id,
                    account_id,
                    channel,
                    message_id,
                    text,
                    ..
                }) = serde_json::from_value(event.stored.payload.clone())
                else {
                    return;
                };
                let thread = (
                    workspace_id.to_string(),
                    lead_id.to_string(),
                    account_id.map(|a| a.to_string()).unwrap_or_default(),
                );
                let identity = (
                    workspace_id.to_string(),
                    channel.to_string(),
                    message_id.to_string(),
                );
                let message = Inbound {
                    position: event.stored.position,
                    thread,
                    kind: "inbound",
                    text,
                };
                self.record(event.stored.position, identity, message);
            }
            _ => {}
        }
    }

    fn finish(&mut self, _senders: &SenderBook, out: &mut Vec<Violation>) {
        let mut rows: HashMap<i64, Vec<MessageRow>> = HashMap::new();
        for values in self.live.rows(MessageRow::table().name).values() {
            match MessageRow::from_values(values) {
                Ok(row) if row.direction == "inbound" => {
                    rows.entry(row.position).or_default().push(row)
                }
                Ok(_) => {}
                Err(e) => out.push(Violation::in_views(
                    Rule::InboxUnrecorded,
                    None,
                    "inbox_messages",
                    format!("an inbox row does not read back: {e}"),
                )),
            }
        }
        let mut per_thread: HashMap<ThreadKey, i64> = HashMap::new();
        for ((_, channel, id), message) in &self.messages {
            *per_thread.entry(message.thread.clone()).or_default() += 1;
            let position = i64::try_from(message.position).unwrap_or(i64::MAX);
            let found = rows.remove(&position).unwrap_or_default();
            let subject = thread_name(&message.thread);
            let what = format!("the {} {id} ({channel})", message.kind);
            match found.as_slice() {
                [] => out.push(Violation::in_views(
                    Rule::ReplyNotInInbox,
                    Some(message.position),
                    &subject,
                    format!("{what} is not in the inbox"),
                )),
                [row] => {
                    let place = (
                        row.workspace_id.clone(),
                        row.lead_id.clone(),
                        row.account_id.clone(),
                    );
                    if place != message.thread
                        || row.channel != *channel
                        || row.kind != message.kind
                        || row.text != message.text
                    {
                        out.push(Violation::in_views(
                            Rule::ReplyNotInInbox,
                            Some(message.position),
                            &subject,
                            format!(
                                "{what} shows as a {} {} in thread {} with other text",
                                row.channel,
                                row.kind,
                                thread_name(&place)
                            ),
                        ));
                    }
                }
                many => out.push(Violation::in_views(
                    Rule::ReplyTwiceInInbox,
                    Some(message.position),
                    &subject,
                    format!("{what} shows {} times", many.len()),
                )),
            }
        }
        for (position, sequence, what) in &self.orphans {
            let at = i64::try_from(*position).unwrap_or(i64::MAX);
            if rows.remove(&at).is_none() {
                out.push(Violation::in_views(
                    Rule::ReplyNotInInbox,
                    Some(*position),
                    sequence,
                    format!("{what} is not in the inbox: the sequence never started"),
                ));
            }
        }
        let mut left: Vec<(i64, Vec<MessageRow>)> = rows.into_iter().collect();
        left.sort_by_key(|(p, _)| *p);
        for (position, found) in left {
            let at = u64::try_from(position).ok();
            for row in found {
                let subject = thread_name(&(row.workspace_id, row.lead_id, row.account_id));
                let duplicate = at.and_then(|p| self.duplicates.get(&p));
                match duplicate {
                    Some((_, channel, id)) => out.push(Violation::in_views(
                        Rule::ReplyTwiceInInbox,
                        at,
                        &subject,
                        format!("a duplicate delivery of {id} ({channel}) added a message"),
                    )),
                    None => out.push(Violation::in_views(
                        Rule::InboxUnrecorded,
                        at,
                        &subject,
                        format!("inbound message {} is recorded nowhere", row.message_key),
                    )),
                }
            }
        }
        for values in self.live.rows(ThreadRow::table().name).values() {
            let Ok(thread) = ThreadRow::from_values(values) else {
                continue;
            };
            let key = (
                thread.workspace_id.clone(),
                thread.lead_id.clone(),
                thread.account_id.clone(),
            );
            let expected = per_thread.get(&key).copied().unwrap_or(0);
            if thread.inbound != expected || thread.unread > thread.inbound {
                out.push(Violation::in_views(
                    Rule::InboxCounts,
                    None,
                    &thread_name(&key),
                    format!(
                        "the thread counts {} inbound ({} unread); the log gave it {expected}",
                        thread.inbound, thread.unread
                    ),
                ));
            }
        }
    }
}

fn thread_name((workspace, lead, account): &ThreadKey) -> String {
    if account.is_empty() {
        format!("{workspace}/{lead}")
    } else {
        format!("{workspace}/{lead} with {account}")
    }
}
