use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A sender's LinkedIn limits, shared by every campaign that uses the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Invites per local day.
    pub daily_invites: u32,
    /// Direct messages per local day.
    pub daily_messages: u32,
    /// Invites per rolling 7 days (rolling, not the calendar week).
    pub weekly_invites: u32,
}

/// Why a set of limits was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitsError {
    /// A limit above what LinkedIn tolerates from any account; such a value is a typo, not a plan.
    #[error("{field} = {value} is above the ceiling of {ceiling}")]
    AboveCeiling {
        /// Which limit.
        field: &'static str,
        /// The value asked for.
        value: u32,
        /// The highest accepted value.
        ceiling: u32,
    },
}

impl Limits {
    /// The highest daily invites accepted (LinkedIn's premium range tops out around 100).
    pub const MAX_DAILY_INVITES: u32 = 200;
    /// The highest daily messages accepted.
    pub const MAX_DAILY_MESSAGES: u32 = 500;
    /// The highest weekly invites accepted.
    pub const MAX_WEEKLY_INVITES: u32 = 1_000;

    /// Checks the limits against the ceilings; zero is allowed and means "none of these".
    pub fn validate(&self) -> Result<(), LimitsError> {
        let checks = [
            ("daily_invites", self.daily_invites, Self::MAX_DAILY_INVITES),
            (
                "daily_messages",
                self.daily_messages,
                Self::MAX_DAILY_MESSAGES,
            ),
            (
                "weekly_invites",
                self.weekly_invites,
                Self::MAX_WEEKLY_INVITES,
            ),
        ];
        for (field, value, ceiling) in checks {
            if value > ceiling {
                return Err(LimitsError::AboveCeiling {
                    field,
                    value,
                    ceiling,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_limits_are_refused() {
        let limits = Limits {
            daily_invites: 5_000,
            daily_messages: 10,
            weekly_invites: 100,
        };
        assert!(matches!(
            limits.validate(),
            Err(LimitsError::AboveCeiling {
                field: "daily_invites",
                ..
            })
        ));
    }

    #[test]
    fn tier_defaults_are_valid() {
        for tier in [
            super::super::Tier::Free,
            super::super::Tier::Premium,
            super::super::Tier::SalesNavigator,
        ] {
            assert_eq!(tier.default_limits().validate(), Ok(()));
        }
    }
}
