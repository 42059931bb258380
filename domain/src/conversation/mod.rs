//! The `Conversation` aggregate: what the unified inbox needs beyond the sequences' own events —
//! messages from people who are in no sequence, and "read" marks. One per workspace and lead.

mod aggregate;

pub use aggregate::{Conversation, ConversationCommand, ConversationError, ConversationEvent};
