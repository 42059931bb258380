//! The unified inbox's tables.

crate::record! {
    /// Which thread a sequence's messages go to: the sequence's lead and sender (internal lookup,
    /// filled by `SequenceStarted`; events after it carry neither).
    pub struct InboxSequence in "inbox_sequences", key 1 {
        /// The `lead_sequence` aggregate id.
        pub sequence_id: String,
        /// Workspace.
        pub workspace_id: String,
        /// Lead.
        pub lead_id: String,
        /// Campaign.
        pub campaign_id: String,
        /// The sender running the sequence: its thread holds the email steps too.
        pub account_id: String,
    }
}

crate::record! {
    /// One conversation: a lead and one sender account of a workspace, both channels together.
    pub struct ThreadRow in "inbox_threads", key 3 {
        /// Workspace.
        pub workspace_id: String,
        /// Lead.
        pub lead_id: String,
        /// Sender account; empty for an email from someone in no sequence (no sender involved).
        pub account_id: String,
        /// Campaign of the latest message that came through a sequence.
        pub campaign_id: Option<String>,
        /// Channel of the latest message (`linkedin` | `email`).
        pub last_channel: String,
        /// Direction of the latest message (`inbound` | `outbound`).
        pub last_direction: String,
        /// Time of the latest message (RFC 3339 UTC, nine fractional digits).
        pub last_at: String,
        /// Log position of the latest message (ties on `last_at`).
        pub last_position: i64,
        /// Messages in the thread.
        pub messages: i64,
        /// Inbound messages in the thread.
        pub inbound: i64,
        /// Inbound messages since the last read.
        pub unread: i64,
        /// When the thread was last read.
        pub last_read_at: Option<String>,
    }
}

crate::record! {
    /// One message of a thread, inbound or outbound, on either channel.
    pub struct MessageRow in "inbox_messages", key 2 {
        /// Workspace.
        pub workspace_id: String,
        /// Identity of the message: `in/<channel>/<provider message id>` for inbound ones (the id
        /// duplicate deliveries share), `out/<sequence id>/<step>` for outbound ones.
        pub message_key: String,
        /// Lead (thread key).
        pub lead_id: String,
        /// Sender account (thread key; empty as in the thread).
        pub account_id: String,
        /// Campaign, when the message came through a sequence.
        pub campaign_id: Option<String>,
        /// The sequence, when the message came through one.
        pub sequence_id: Option<String>,
        /// Log position of the event that recorded the message.
        pub position: i64,
        /// When (RFC 3339 UTC, nine fractional digits).
        pub at: String,
        /// `inbound` | `outbound`.
        pub direction: String,
        /// `linkedin` | `email`.
        pub channel: String,
        /// `invite` | `message` | `email` | `reply` | `out_of_office` | `inbound`.
        pub kind: String,
        /// Email subject.
        pub subject: Option<String>,
        /// The text: invite note, message, email body, reply (empty for an invite without a note
        /// and for an out-of-office answer, whose text the log does not keep).
        pub text: String,
    }
}
