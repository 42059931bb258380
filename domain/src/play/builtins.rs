//! The built-in plays, `linkedin-first` and `email-first`.
//!
//! Each exists twice on purpose: built in Rust here (so using one cannot fail at run time) and as a
//! TOML file under `domain/plays/` (so users have a real file to copy, and the TOML format is
//! exercised). A test keeps the two equal.

use super::{Condition, Delay, Play, PlayStep};
use crate::values::Action;

/// The names of the built-in plays.
pub const BUILTIN_NAMES: &[&str] = &["linkedin-first", "email-first"];

const LINKEDIN_FIRST_TOML: &str = include_str!("../../plays/linkedin-first.toml");
const EMAIL_FIRST_TOML: &str = include_str!("../../plays/email-first.toml");

fn step(
    action: Action,
    delay: Delay,
    condition: Condition,
    subject: Option<&str>,
    template: &str,
) -> PlayStep {
    PlayStep {
        action,
        template: Some(template.to_owned()),
        subject: subject.map(str::to_owned),
        delay,
        condition,
    }
}

impl Play {
    /// Connect first: an invite with a note; an email if the invite is not accepted within 7 days;
    /// a message a day after acceptance; a last email 4 days later if there was no reply.
    pub fn linkedin_first() -> Play {
        Play {
            name: "linkedin-first".into(),
            description: "Invite with a note; email if not accepted within 7 days; message once \
                          accepted; one email follow-up."
                .into(),
            steps: vec![
                step(
                    Action::Invite,
                    Delay::minutes(0),
                    Condition::Always,
                    None,
                    "Hi {{first_name}}, I help teams like {{company}} run outreach that respects \
                     LinkedIn's limits. Would be glad to connect. - {{sender_first_name}}",
                ),
                step(
                    Action::Email,
                    Delay::minutes(0),
                    Condition::IfNotAcceptedWithin(7),
                    Some("Quick question, {{first_name}}"),
                    "Hi {{first_name}},\n\n\
                     I sent you a connection request on LinkedIn last week and thought email \
                     might suit you better.\n\n\
                     I help teams like {{company}} run outbound that stays within LinkedIn's \
                     limits and stops the moment someone replies. Would a 15-minute call next \
                     week be useful?\n\n\
                     Best,\n{{sender_first_name}}",
                ),
                step(
                    Action::Message,
                    Delay::days(1),
                    Condition::IfAccepted,
                    None,
                    "Thanks for connecting, {{first_name}}! Curious how {{company}} handles \
                     outbound today. Happy to share what has worked for similar teams if that's \
                     useful.",
                ),
                step(
                    Action::Email,
                    Delay::days(4),
                    Condition::IfNoReply,
                    Some("Following up, {{first_name}}"),
                    "Hi {{first_name}},\n\n\
                     Just following up in case my earlier note got buried. If outbound at \
                     {{company}} is on your list this quarter, I'd be glad to compare notes.\n\n\
                     Best,\n{{sender_first_name}}",
                ),
            ],
        }
    }

    /// Email first: an email when the address is known; an invite 3 days later if there was no
    /// reply; a message a day after acceptance; a last email 5 days later.
    pub fn email_first() -> Play {
        Play {
            name: "email-first".into(),
            description: "Email if the address is known; invite after 3 days without a reply; \
                          message once accepted; email follow-up."
                .into(),
            steps: vec![
                step(
                    Action::Email,
                    Delay::minutes(0),
                    Condition::IfEmailKnown,
                    Some("Outbound at {{company}}"),
                    "Hi {{first_name}},\n\n\
                     I help teams like {{company}} run outbound across LinkedIn and email without \
                     tripping LinkedIn's limits, and stop the moment someone replies.\n\n\
                     Would a 15-minute call next week be useful?\n\n\
                     Best,\n{{sender_first_name}}",
                ),
                step(
                    Action::Invite,
                    Delay::days(3),
                    Condition::IfNoReply,
                    None,
                    "Hi {{first_name}}, I work with teams like {{company}} on outbound that stays \
                     within LinkedIn's limits. Would be glad to connect. - {{sender_first_name}}",
                ),
                step(
                    Action::Message,
                    Delay::days(1),
                    Condition::IfAccepted,
                    None,
                    "Thanks for connecting, {{first_name}}! How does {{company}} run outbound \
                     today? Happy to share what has worked for similar teams.",
                ),
                step(
                    Action::Email,
                    Delay::days(5),
                    Condition::Always,
                    Some("Following up, {{first_name}}"),
                    "Hi {{first_name}},\n\n\
                     A short follow-up in case my earlier note got buried. If outbound at \
                     {{company}} is on your list this quarter, I'd be glad to compare notes.\n\n\
                     Best,\n{{sender_first_name}}",
                ),
            ],
        }
    }

    /// The built-in play called `name`, if there is one.
    pub fn builtin(name: &str) -> Option<Play> {
        match name {
            "linkedin-first" => Some(Play::linkedin_first()),
            "email-first" => Some(Play::email_first()),
            _ => None,
        }
    }

    /// The TOML file of the built-in play called `name`: a commented starting point for a custom
    /// play.
    pub fn builtin_toml(name: &str) -> Option<&'static str> {
        match name {
            "linkedin-first" => Some(LINKEDIN_FIRST_TOML),
            "email-first" => Some(EMAIL_FIRST_TOML),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::note::InviteNote;
    use crate::template::{Template, VARIABLES};
    use crate::values::Tier;

    /// Long but realistic values, so the length checks are not flattered by short names.
    fn realistic() -> BTreeMap<String, String> {
        [
            ("first_name", "Maximiliane"),
            ("last_name", "Vandenberghe-Oosterhuis"),
            ("full_name", "Maximiliane Vandenberghe-Oosterhuis"),
            ("company", "Northwind Logistics International"),
            ("title", "Vice President of Revenue Operations"),
            ("sender_first_name", "Bartholomew"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn every_builtin_is_valid_and_found_by_name() {
        for name in BUILTIN_NAMES {
            let play = Play::builtin(name).unwrap();
            assert_eq!(play.name, *name);
            assert_eq!(play.validate(), Ok(()));
        }
        assert_eq!(Play::builtin("linkedin-last"), None);
        assert_eq!(Play::builtin_toml("linkedin-last"), None);
    }

    #[test]
    fn toml_files_equal_the_builtins() {
        for name in BUILTIN_NAMES {
            let from_file = Play::from_toml(Play::builtin_toml(name).unwrap()).unwrap();
            assert_eq!(from_file, Play::builtin(name).unwrap(), "{name}");
        }
    }

    #[test]
    fn linkedin_first_has_the_documented_shape() {
        let play = Play::linkedin_first();
        let shape: Vec<_> = play
            .steps
            .iter()
            .map(|s| (s.action, s.delay, s.condition))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Action::Invite, Delay::minutes(0), Condition::Always),
                (
                    Action::Email,
                    Delay::minutes(0),
                    Condition::IfNotAcceptedWithin(7)
                ),
                (Action::Message, Delay::days(1), Condition::IfAccepted),
                (Action::Email, Delay::days(4), Condition::IfNoReply),
            ]
        );
        assert!(
            play.steps[0].template.is_some(),
            "the invite carries a note"
        );
    }

    #[test]
    fn email_first_has_the_documented_shape() {
        let shape: Vec<_> = Play::email_first()
            .steps
            .iter()
            .map(|s| (s.action, s.delay, s.condition))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Action::Email, Delay::minutes(0), Condition::IfEmailKnown),
                (Action::Invite, Delay::days(3), Condition::IfNoReply),
                (Action::Message, Delay::days(1), Condition::IfAccepted),
                (Action::Email, Delay::days(5), Condition::Always),
            ]
        );
    }

    #[test]
    fn builtin_notes_fit_a_free_account() {
        for name in BUILTIN_NAMES {
            let play = Play::builtin(name).unwrap();
            let invite = play.steps.iter().find(|s| s.action == Action::Invite);
            let text = invite.and_then(|s| s.template.as_deref()).unwrap();
            let note =
                InviteNote::render(&Template::parse(text).unwrap(), &realistic(), Tier::Free)
                    .unwrap();
            assert!(note.len_chars() < 200, "{name}: {} chars", note.len_chars());
        }
    }

    #[test]
    fn builtin_templates_render_with_known_variables_only() {
        for name in BUILTIN_NAMES {
            for step in Play::builtin(name).unwrap().steps {
                for text in [step.template, step.subject].into_iter().flatten() {
                    let template = Template::parse(&text).unwrap();
                    assert!(template.variables().iter().all(|v| VARIABLES.contains(v)));
                    let out = template.render(&realistic()).unwrap();
                    assert!(!out.contains("{{"), "{name}: {out}");
                }
            }
        }
    }
}
