use serde::{Deserialize, Serialize};

use super::Limits;

/// The LinkedIn subscription of a sender account; it sets the default limits and the note length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Free or basic account.
    Free,
    /// LinkedIn Premium.
    Premium,
    /// Sales Navigator.
    SalesNavigator,
}

impl Tier {
    /// The longest invite note LinkedIn accepts from this tier, in characters.
    pub fn max_note_chars(self) -> usize {
        match self {
            Tier::Free => 200,
            Tier::Premium | Tier::SalesNavigator => 300,
        }
    }

    /// Conservative defaults from `linkedin-facts.md`: the low end of each published range.
    pub fn default_limits(self) -> Limits {
        match self {
            Tier::Free => Limits {
                daily_invites: 15,
                daily_messages: 100,
                weekly_invites: 100,
            },
            Tier::Premium | Tier::SalesNavigator => Limits {
                daily_invites: 80,
                daily_messages: 150,
                weekly_invites: 200,
            },
        }
    }
}
