//! Rendering a step's texts from the play's templates and the lead's profile.

use plera_domain::note::InviteNote;
use plera_domain::play::PlayStep;
use plera_domain::template::Template;
use plera_domain::values::Tier;

use crate::leads::LeadProfile;

/// A step's rendered texts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Invite note, message text or email body.
    pub body: Option<String>,
    /// Email subject.
    pub subject: Option<String>,
}

/// Why a step's texts could not be rendered (a missing variable, an over-long note).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

fn render_one(template: &str, profile: &LeadProfile) -> Result<String, RenderError> {
    let t = Template::parse(template).map_err(|e| RenderError(e.to_string()))?;
    t.render(&profile.vars)
        .map_err(|e| RenderError(e.to_string()))
}

/// Renders a step for a lead; an invite note is checked against the sender tier's length limit.
pub fn render_step(
    step: &PlayStep,
    profile: &LeadProfile,
    tier: Option<Tier>,
) -> Result<Rendered, RenderError> {
    let body = match (&step.template, step.action, tier) {
        (Some(t), plera_domain::values::Action::Invite, Some(tier)) => {
            let template = Template::parse(t).map_err(|e| RenderError(e.to_string()))?;
            let note = InviteNote::render(&template, &profile.vars, tier)
                .map_err(|e| RenderError(e.to_string()))?;
            Some(note.into_string())
        }
        (Some(t), _, _) => Some(render_one(t, profile)?),
        (None, _, _) => None,
    };
    let subject = match &step.subject {
        Some(s) => Some(render_one(s, profile)?),
        None => None,
    };
    Ok(Rendered { body, subject })
}
