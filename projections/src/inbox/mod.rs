//! The unified inbox: one thread per (workspace, lead, sender account) holding every message of
//! both channels in time order, with its unread count.
//!
//! Emails of a sequence belong to the thread of the lead with the sequence's sender: a sales rep
//! sees one conversation per lead whatever the channel. Messages are keyed by identity (the
//! provider's message id for inbound ones, sequence and step for outbound ones), so a duplicate
//! delivery changes nothing even if the log held it twice. `unread` counts inbound messages
//! (replies, out-of-office answers, messages from people in no sequence) since the last
//! `ConversationRead`; a read without a sender marks every thread of the lead read.

mod fold;
mod rows;
#[cfg(test)]
mod tests;

pub use rows::{InboxSequence, MessageRow, ThreadRow};

use serde::{Deserialize, Serialize};

use crate::envelope::Decoded;
use crate::projection::{Projection, ProjectionError};
use crate::rows::{Record, Table};
use crate::stage::{Outcome, Snapshot, Stage};

/// The view's name (its checkpoint key).
pub const INBOX: &str = "inbox";

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the lead.
    Inbound,
    /// To the lead.
    Outbound,
}

/// What a message of the inbox is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A LinkedIn invite (its note is the text).
    Invite,
    /// A LinkedIn direct message.
    Message,
    /// An email of a sequence.
    Email,
    /// The lead's reply.
    Reply,
    /// An automatic out-of-office answer.
    OutOfOffice,
    /// A message from someone in no sequence.
    Inbound,
}

impl MessageKind {
    /// Which way messages of this kind go.
    pub fn direction(self) -> Direction {
        match self {
            MessageKind::Invite | MessageKind::Message | MessageKind::Email => Direction::Outbound,
            MessageKind::Reply | MessageKind::OutOfOffice | MessageKind::Inbound => {
                Direction::Inbound
            }
        }
    }
}

/// The unified inbox view.
#[derive(Clone, Copy, Debug, Default)]
pub struct InboxView;

impl Projection for InboxView {
    fn name(&self) -> &'static str {
        INBOX
    }

    fn version(&self) -> u32 {
        1
    }

    fn tables(&self) -> Vec<&'static Table> {
        vec![
            InboxSequence::table(),
            ThreadRow::table(),
            MessageRow::table(),
        ]
    }

    fn apply(&self, events: &[Decoded], rows: &Snapshot) -> Result<Outcome, ProjectionError> {
        let mut stage = Stage::new(rows);
        for event in events {
            fold::apply(&mut stage, event)?;
        }
        Ok(stage.finish())
    }
}
