use thiserror::Error;

use super::Condition;
use crate::template::TemplateError;
use crate::values::Action;

/// Why a play was refused. `step` is the step's index in the play (0-based, like
/// `StepStarted::step`); the messages count from 1, as a person reading the file does.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlayError {
    /// The TOML text did not parse into a play (unknown action or condition, malformed or
    /// negative delay, unknown field...); the parser's message, with its line, is kept.
    #[error("play is not valid TOML: {0}")]
    Toml(String),
    /// The JSON text did not parse into a play; the parser's message is kept.
    #[error("play is not valid JSON: {0}")]
    Json(String),
    /// The play could not be written as TOML.
    #[error("play cannot be written as TOML: {0}")]
    Serialize(String),
    /// The name is empty or blank.
    #[error("play has no name")]
    EmptyName,
    /// A play without steps would enroll leads and do nothing.
    #[error("play has no steps")]
    NoSteps,
    /// More steps than any sensible sequence; a sign of a generated or broken file.
    #[error("play has {count} steps; at most {max} are allowed")]
    TooManySteps {
        /// Steps in the play.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// A LinkedIn message can only reach a 1st-degree connection: it needs an earlier invite, or
    /// the condition `if_accepted` (which also covers leads already connected at enrollment).
    #[error(
        "step {}: a message needs an earlier invite step or the condition `if_accepted` \
         (messages only reach 1st-degree connections)",
        .step + 1
    )]
    MessageWithoutInvite {
        /// The message step.
        step: usize,
    },
    /// At most one invite per sequence (invariant 5).
    #[error("step {}: a play sends at most one invite, and an earlier step already does", .step + 1)]
    SecondInvite {
        /// The second invite step.
        step: usize,
    },
    /// A message or email step without a body, an email without a subject, or a template that is
    /// present but blank.
    #[error("step {} ({action}): `{field}` is missing or empty", .step + 1)]
    MissingTemplate {
        /// The step.
        step: usize,
        /// Its action.
        action: Action,
        /// `"template"` or `"subject"`.
        field: &'static str,
    },
    /// A template with a syntax error.
    #[error("step {}: `{field}` is not a valid template: {source}", .step + 1)]
    InvalidTemplate {
        /// The step.
        step: usize,
        /// `"template"` or `"subject"`.
        field: &'static str,
        /// The syntax error.
        source: TemplateError,
    },
    /// `if_accepted` or `if_not_accepted_within` with no invite before it.
    #[error("step {}: condition `{condition}` needs an earlier invite step", .step + 1)]
    ConditionNeedsInvite {
        /// The step.
        step: usize,
        /// The condition.
        condition: Condition,
    },
    /// A template variable outside [`crate::template::VARIABLES`]: it could never be filled.
    #[error(
        "step {}: unknown variable `{name}` (known: {known})",
        .step + 1,
        known = crate::template::VARIABLES.join(", ")
    )]
    UnknownVariable {
        /// The step.
        step: usize,
        /// The variable.
        name: String,
    },
    /// `if_not_accepted_within = 0` can never hold: the invite was just sent.
    #[error("step {}: `if_not_accepted_within` needs at least 1 day", .step + 1)]
    ZeroDays {
        /// The step.
        step: usize,
    },
    /// A subject on a step that is not an email: it would be ignored, so it is surely a mistake.
    #[error("step {} ({action}): only email steps have a `subject`", .step + 1)]
    SubjectWithoutEmail {
        /// The step.
        step: usize,
        /// Its action.
        action: Action,
    },
    /// An invite note whose fixed text alone is over LinkedIn's longest limit: it could never be
    /// sent on any tier.
    #[error(
        "step {}: the invite note has {len} characters before any variable is filled; \
         LinkedIn allows at most {max}",
        .step + 1
    )]
    NoteTooLong {
        /// The step.
        step: usize,
        /// Characters outside the placeholders.
        len: usize,
        /// The longest note any tier may send.
        max: usize,
    },
}
