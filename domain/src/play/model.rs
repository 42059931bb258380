use serde::{Deserialize, Serialize};

use crate::values::Action;

/// A play: the steps a campaign runs for each lead, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Play {
    /// Unique name within the workspace, e.g. `linkedin-first`.
    pub name: String,
    /// What the play is for.
    #[serde(default)]
    pub description: String,
    /// The steps, run in order.
    pub steps: Vec<PlayStep>,
}

/// One step of a play.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlayStep {
    /// What the step does.
    pub action: Action,
    /// The body template (invite note, message text or email body); an invite without one goes
    /// without a note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The subject template of an email step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// How long after the previous step was resolved this step comes due.
    #[serde(default)]
    pub delay: Delay,
    /// When the step runs.
    #[serde(default)]
    pub condition: Condition,
}

/// When a step runs. Every step also needs its channel: an email step for a lead without a known
/// email is skipped, and so is a message step for a lead who is not a 1st-degree connection when it
/// comes due (use `if_accepted` to wait for the invite's acceptance instead).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Run when due.
    #[default]
    Always,
    /// Run once the invite is accepted (or the lead was 1st-degree at enrollment); skipped when
    /// the invite is not accepted within the acceptance window or was never sent.
    IfAccepted,
    /// Run if the invite is still not accepted this many days after it was sent; skipped as soon
    /// as it is accepted.
    IfNotAcceptedWithin(u32),
    /// Run if the lead's email is known, else skip.
    IfEmailKnown,
    /// Run if the lead has not replied (a reply stops the sequence anyway; this spells it out).
    IfNoReply,
}

/// A delay in whole minutes. Written as `"3d"`, `"12h"`, `"30m"` or `"0"` in plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Delay {
    minutes: u32,
}

impl Delay {
    /// A delay of `minutes`.
    pub const fn minutes(minutes: u32) -> Self {
        Self { minutes }
    }

    /// A delay of `hours`.
    pub const fn hours(hours: u32) -> Self {
        Self {
            minutes: hours * 60,
        }
    }

    /// A delay of `days`.
    pub const fn days(days: u32) -> Self {
        Self {
            minutes: days * 24 * 60,
        }
    }

    /// The delay in minutes.
    pub const fn as_minutes(self) -> u32 {
        self.minutes
    }

    /// The delay as a chrono duration.
    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.minutes))
    }
}

impl std::fmt::Display for Delay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.minutes;
        if m == 0 {
            f.write_str("0")
        } else if m % (24 * 60) == 0 {
            write!(f, "{}d", m / (24 * 60))
        } else if m % 60 == 0 {
            write!(f, "{}h", m / 60)
        } else {
            write!(f, "{m}m")
        }
    }
}

/// Why a delay could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelayError {
    /// A delay below zero.
    #[error("delay `{0}` is negative")]
    Negative(String),
    /// Not `<n>d`, `<n>h`, `<n>m` or `0`.
    #[error("delay `{0}` is not a duration (use e.g. \"3d\", \"12h\", \"30m\")")]
    Malformed(String),
    /// Longer than a year: surely a typo.
    #[error("delay `{0}` is longer than 365 days")]
    TooLong(String),
}

impl std::str::FromStr for Delay {
    type Err = DelayError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.starts_with('-') {
            return Err(DelayError::Negative(s.to_owned()));
        }
        if t == "0" {
            return Ok(Delay::minutes(0));
        }
        // Split off the last *character*, not byte: a multi-byte unit such as "3é" must be a
        // `Malformed` error, not a panic on a char boundary.
        let Some(unit) = t.chars().last() else {
            return Err(DelayError::Malformed(s.to_owned()));
        };
        let num = &t[..t.len() - unit.len_utf8()];
        let n: u64 = num
            .trim()
            .parse()
            .map_err(|_| DelayError::Malformed(s.to_owned()))?;
        let per = match unit {
            'd' => 24 * 60,
            'h' => 60,
            'm' => 1,
            _ => return Err(DelayError::Malformed(s.to_owned())),
        };
        let minutes = n.saturating_mul(per);
        if minutes > 365 * 24 * 60 {
            return Err(DelayError::TooLong(s.to_owned()));
        }
        Ok(Delay::minutes(minutes as u32))
    }
}

impl Serialize for Delay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Condition {
    /// As written in a play file, so error messages quote what the user wrote.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Condition::Always => f.write_str("always"),
            Condition::IfAccepted => f.write_str("if_accepted"),
            Condition::IfNotAcceptedWithin(days) => write!(f, "if_not_accepted_within = {days}"),
            Condition::IfEmailKnown => f.write_str("if_email_known"),
            Condition::IfNoReply => f.write_str("if_no_reply"),
        }
    }
}
