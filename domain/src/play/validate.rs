//! The rules a play must follow before any lead is enrolled in it: a broken play found at load time
//! costs nothing, the same mistake found at step 3 of a thousand sequences costs a campaign.

use super::{Condition, Play, PlayError, PlayStep};
use crate::template::{Template, VARIABLES};
use crate::values::{Action, Tier};

impl Play {
    /// The most steps a play may have.
    pub const MAX_STEPS: usize = 20;

    /// Checks the play's structure, conditions and templates; the first problem is returned.
    pub fn validate(&self) -> Result<(), PlayError> {
        if self.name.trim().is_empty() {
            return Err(PlayError::EmptyName);
        }
        if self.steps.is_empty() {
            return Err(PlayError::NoSteps);
        }
        if self.steps.len() > Self::MAX_STEPS {
            return Err(PlayError::TooManySteps {
                count: self.steps.len(),
                max: Self::MAX_STEPS,
            });
        }
        let mut invite_before = false;
        for (index, step) in self.steps.iter().enumerate() {
            check_action(index, step, invite_before)?;
            check_condition(index, step, invite_before)?;
            check_templates(index, step)?;
            invite_before |= step.action == Action::Invite;
        }
        Ok(())
    }
}

fn check_action(step: usize, s: &PlayStep, invite_before: bool) -> Result<(), PlayError> {
    match s.action {
        Action::Invite if invite_before => Err(PlayError::SecondInvite { step }),
        Action::Message if !invite_before && s.condition != Condition::IfAccepted => {
            Err(PlayError::MessageWithoutInvite { step })
        }
        _ => Ok(()),
    }
}

fn check_condition(step: usize, s: &PlayStep, invite_before: bool) -> Result<(), PlayError> {
    let needs_invite = match s.condition {
        Condition::IfNotAcceptedWithin(0) => return Err(PlayError::ZeroDays { step }),
        Condition::IfNotAcceptedWithin(_) => true,
        // A message step may use `if_accepted` without an invite: it then reaches only the leads
        // who were already 1st-degree connections at enrollment.
        Condition::IfAccepted => s.action != Action::Message,
        Condition::Always | Condition::IfEmailKnown | Condition::IfNoReply => false,
    };
    if needs_invite && !invite_before {
        return Err(PlayError::ConditionNeedsInvite {
            step,
            condition: s.condition,
        });
    }
    Ok(())
}

fn check_templates(step: usize, s: &PlayStep) -> Result<(), PlayError> {
    if s.subject.is_some() && s.action != Action::Email {
        return Err(PlayError::SubjectWithoutEmail {
            step,
            action: s.action,
        });
    }
    let fields = [
        ("template", &s.template, s.action != Action::Invite),
        ("subject", &s.subject, s.action == Action::Email),
    ];
    for (field, text, required) in fields {
        let text = match text {
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(text),
            None if required => None,
            None => continue,
        };
        let Some(text) = text else {
            return Err(PlayError::MissingTemplate {
                step,
                action: s.action,
                field,
            });
        };
        let template = Template::parse(text).map_err(|source| PlayError::InvalidTemplate {
            step,
            field,
            source,
        })?;
        if let Some(name) = template
            .variables()
            .into_iter()
            .find(|v| !VARIABLES.contains(v))
        {
            return Err(PlayError::UnknownVariable {
                step,
                name: name.to_owned(),
            });
        }
        if s.action == Action::Invite {
            let max = Tier::Premium.max_note_chars();
            // The note is trimmed before it is sent, so edge whitespace does not count.
            let len = Template::parse(text.trim()).map_or(0, |t| t.literal_chars());
            if len > max {
                return Err(PlayError::NoteTooLong { step, len, max });
            }
        }
    }
    Ok(())
}
