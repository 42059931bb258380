use serde::{Deserialize, Serialize};
use std::fmt;

/// The channel a message travels on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// LinkedIn (invites and direct messages).
    Linkedin,
    /// Email through a mailbox.
    Email,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Channel::Linkedin => "linkedin",
            Channel::Email => "email",
        })
    }
}

/// What a sequence step does; invites and messages draw on the sender's LinkedIn quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A LinkedIn connection invite, optionally with a personalised note.
    Invite,
    /// A LinkedIn direct message; only to 1st-degree connections.
    Message,
    /// An email from the campaign's mailbox.
    Email,
}

impl Action {
    /// The channel this action uses.
    pub fn channel(self) -> Channel {
        match self {
            Action::Invite | Action::Message => Channel::Linkedin,
            Action::Email => Channel::Email,
        }
    }

    /// Whether the action spends the sender's LinkedIn quota and must respect its working hours.
    pub fn is_linkedin(self) -> bool {
        self.channel() == Channel::Linkedin
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Invite => "invite",
            Action::Message => "message",
            Action::Email => "email",
        })
    }
}

/// How close the lead is to the sender on LinkedIn when enrolled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionDegree {
    /// Already connected: messages may go out without an invite.
    First,
    /// A connection of a connection.
    Second,
    /// Anyone further away.
    Third,
}
