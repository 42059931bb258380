//! Identifiers as newtypes, so that a lead id can never be passed where a sender's is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id chosen by the caller (ids come in as values; the domain never makes them).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A customer workspace; every command is scoped to one.
    WorkspaceId
);
id_type!(
    /// A connected LinkedIn account used as a sender (our id, not the provider's).
    AccountId
);
id_type!(
    /// The provider's own id for a connected LinkedIn account.
    ProviderAccountId
);
id_type!(
    /// A prospect that sequences reach out to.
    LeadId
);
id_type!(
    /// A campaign: a play run by a set of senders over enrolled leads.
    CampaignId
);
id_type!(
    /// A mailbox that email steps are sent from.
    MailboxId
);
id_type!(
    /// The user who owns a sender account.
    OwnerId
);
id_type!(
    /// The provider's id of an inbound message; duplicates of one delivery share it.
    ProviderMessageId
);

/// The id of one lead's run through one campaign: the `LeadSequence` aggregate id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SequenceId(String);

impl SequenceId {
    /// The sequence of `lead` in `campaign` of `workspace`. A lead runs through a campaign at most
    /// once, so the triple names the sequence without a generated id.
    pub fn of(workspace: &WorkspaceId, campaign: &CampaignId, lead: &LeadId) -> Self {
        Self(format!("{workspace}/{campaign}/{lead}"))
    }

    /// Wraps a stored aggregate id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SequenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_plain_strings() {
        let id = AccountId::new("acc-1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"acc-1\"");
        let back: AccountId = serde_json::from_str("\"acc-1\"").unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn sequence_id_names_workspace_campaign_and_lead() {
        let id = SequenceId::of(&"ws".into(), &"camp".into(), &"lead".into());
        assert_eq!(id.as_str(), "ws/camp/lead");
    }
}
