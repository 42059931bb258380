//! Reading plays from TOML or JSON, then validating them.
//!
//! Files are read through a strict mirror of [`Play`] that refuses unknown fields: a typo such as
//! `conditon = "if_accepted"` must be an error, not a step that silently runs `always`. The model
//! itself stays lenient, because it is also what stored data deserializes into.

use serde::Deserialize;

use super::{Condition, Delay, Play, PlayError, PlayStep};
use crate::values::Action;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlayFile {
    name: String,
    #[serde(default)]
    description: String,
    steps: Vec<StepFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    action: Action,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    delay: Delay,
    #[serde(default)]
    condition: Condition,
}

impl From<PlayFile> for Play {
    fn from(f: PlayFile) -> Self {
        Play {
            name: f.name,
            description: f.description,
            steps: f
                .steps
                .into_iter()
                .map(|s| PlayStep {
                    action: s.action,
                    template: s.template,
                    subject: s.subject,
                    delay: s.delay,
                    condition: s.condition,
                })
                .collect(),
        }
    }
}

impl Play {
    /// Reads a play from TOML (`name`, `description`, `[[steps]]`) and validates it.
    pub fn from_toml(text: &str) -> Result<Play, PlayError> {
        let file: PlayFile = toml::from_str(text).map_err(|e| PlayError::Toml(e.to_string()))?;
        let play = Play::from(file);
        play.validate()?;
        Ok(play)
    }

    /// Reads a play from JSON (same fields as TOML) and validates it.
    pub fn from_json(text: &str) -> Result<Play, PlayError> {
        let file: PlayFile =
            serde_json::from_str(text).map_err(|e| PlayError::Json(e.to_string()))?;
        let play = Play::from(file);
        play.validate()?;
        Ok(play)
    }

    /// Writes the play as TOML that [`Play::from_toml`] reads back.
    pub fn to_toml(&self) -> Result<String, PlayError> {
        toml::to_string(self).map_err(|e| PlayError::Serialize(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::TemplateError;

    const VALID: &str = r#"
name = "probe"
description = "a test play"

[[steps]]
action = "invite"
template = "Hi {{first_name}}"

[[steps]]
action = "email"
condition = { if_not_accepted_within = 7 }
subject = "About {{company}}"
template = "Hello {{ first_name }}"

[[steps]]
action = "message"
delay = "12h"
condition = "if_accepted"
template = "Thanks for connecting, {{first_name}}"

[[steps]]
action = "email"
delay = "30m"
condition = "if_no_reply"
subject = "Following up"
template = "Bye {{first_name}}"
"#;

    /// `VALID` with `from` replaced by `to` (exactly once), parsed.
    fn variant(from: &str, to: &str) -> Result<Play, PlayError> {
        assert_eq!(VALID.matches(from).count(), 1, "`{from}` must be unique");
        Play::from_toml(&VALID.replacen(from, to, 1))
    }

    fn toml_message(result: Result<Play, PlayError>) -> String {
        match result {
            Err(PlayError::Toml(message)) => message,
            other => panic!("expected a TOML error, got {other:?}"),
        }
    }

    #[test]
    fn reads_every_field_from_toml() {
        let play = Play::from_toml(VALID).unwrap();
        assert_eq!(play.name, "probe");
        assert_eq!(play.description, "a test play");
        assert_eq!(play.steps.len(), 4);
        assert_eq!(play.steps[0].action, Action::Invite);
        assert_eq!(play.steps[0].delay, Delay::minutes(0));
        assert_eq!(play.steps[0].condition, Condition::Always);
        assert_eq!(play.steps[1].condition, Condition::IfNotAcceptedWithin(7));
        assert_eq!(play.steps[1].subject.as_deref(), Some("About {{company}}"));
        assert_eq!(play.steps[2].delay, Delay::hours(12));
        assert_eq!(play.steps[2].condition, Condition::IfAccepted);
        assert_eq!(play.steps[3].delay, Delay::minutes(30));
        assert_eq!(play.steps[3].condition, Condition::IfNoReply);
    }

    #[test]
    fn toml_round_trips() {
        let play = Play::from_toml(VALID).unwrap();
        let text = play.to_toml().unwrap();
        assert_eq!(Play::from_toml(&text).unwrap(), play);
    }

    #[test]
    fn json_reads_the_same_play_and_round_trips() {
        let play = Play::from_toml(VALID).unwrap();
        let json = serde_json::to_string(&play).unwrap();
        assert!(json.contains(r#""condition":{"if_not_accepted_within":7}"#));
        assert_eq!(Play::from_json(&json).unwrap(), play);
    }

    #[test]
    fn json_errors_keep_the_parser_message() {
        let err = Play::from_json(r#"{"name":"x","steps":[{"action":"fax"}]}"#).unwrap_err();
        match err {
            PlayError::Json(message) => assert!(message.contains("fax"), "{message}"),
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_action_is_a_parse_error_naming_it() {
        let message = toml_message(variant(r#"action = "message""#, r#"action = "inmail""#));
        assert!(message.contains("inmail"), "{message}");
    }

    #[test]
    fn unknown_condition_is_a_parse_error_naming_it() {
        let message = toml_message(variant(r#""if_accepted""#, r#""if_opened""#));
        assert!(message.contains("if_opened"), "{message}");
    }

    #[test]
    fn negative_and_malformed_delays_are_parse_errors() {
        let message = toml_message(variant(r#"delay = "12h""#, r#"delay = "-2d""#));
        assert!(message.contains("negative"), "{message}");
        let message = toml_message(variant(r#"delay = "12h""#, r#"delay = "2 weeks""#));
        assert!(message.contains("not a duration"), "{message}");
    }

    #[test]
    fn a_multibyte_delay_unit_is_an_error_not_a_panic() {
        assert!(matches!(
            "3é".parse::<Delay>(),
            Err(crate::play::DelayError::Malformed(_))
        ));
        assert!(matches!(
            "".parse::<Delay>(),
            Err(crate::play::DelayError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let message = toml_message(variant(
            r#"condition = "if_no_reply""#,
            r#"conditon = "if_no_reply""#,
        ));
        assert!(message.contains("conditon"), "{message}");
    }

    #[test]
    fn empty_name_is_refused() {
        assert_eq!(
            variant(r#"name = "probe""#, r#"name = "  ""#),
            Err(PlayError::EmptyName)
        );
    }

    #[test]
    fn no_steps_is_refused() {
        assert_eq!(
            Play::from_toml("name = \"x\"\nsteps = []\n"),
            Err(PlayError::NoSteps)
        );
    }

    #[test]
    fn more_than_twenty_steps_are_refused() {
        let play_of = |n: usize| {
            let mut text = String::from("name = \"long\"\n");
            for _ in 0..n {
                text.push_str("[[steps]]\naction = \"email\"\nsubject = \"s\"\ntemplate = \"t\"\n");
            }
            Play::from_toml(&text)
        };
        assert_eq!(play_of(20).unwrap().steps.len(), 20);
        assert_eq!(
            play_of(21),
            Err(PlayError::TooManySteps { count: 21, max: 20 })
        );
    }

    #[test]
    fn message_without_earlier_invite_is_refused_unless_if_accepted() {
        let text =
            "name = \"m\"\n[[steps]]\naction = \"message\"\ntemplate = \"Hi {{first_name}}\"\n";
        assert_eq!(
            Play::from_toml(text),
            Err(PlayError::MessageWithoutInvite { step: 0 })
        );
        // `if_accepted` alone is fine: it reaches leads already connected at enrollment.
        let first_degree = format!("{text}condition = \"if_accepted\"\n");
        assert!(Play::from_toml(&first_degree).is_ok());
    }

    #[test]
    fn second_invite_is_refused() {
        let text = format!("{VALID}\n[[steps]]\naction = \"invite\"\n");
        assert_eq!(
            Play::from_toml(&text),
            Err(PlayError::SecondInvite { step: 4 })
        );
    }

    #[test]
    fn message_and_email_need_a_body_and_email_a_subject() {
        assert_eq!(
            variant(r#"template = "Thanks for connecting, {{first_name}}""#, ""),
            Err(PlayError::MissingTemplate {
                step: 2,
                action: Action::Message,
                field: "template"
            })
        );
        assert_eq!(
            variant(r#"subject = "Following up""#, ""),
            Err(PlayError::MissingTemplate {
                step: 3,
                action: Action::Email,
                field: "subject"
            })
        );
        assert_eq!(
            variant(r#"template = "Bye {{first_name}}""#, r#"template = " ""#),
            Err(PlayError::MissingTemplate {
                step: 3,
                action: Action::Email,
                field: "template"
            })
        );
    }

    #[test]
    fn an_invite_without_a_note_is_fine() {
        let play = variant("template = \"Hi {{first_name}}\"\n", "").unwrap();
        assert_eq!(play.steps[0].template, None);
    }

    #[test]
    fn template_syntax_errors_name_the_step_and_field() {
        let err = variant("About {{company}}", "About {{company").unwrap_err();
        assert_eq!(
            err,
            PlayError::InvalidTemplate {
                step: 1,
                field: "subject",
                source: TemplateError::Unclosed { offset: 6 }
            }
        );
        assert!(err.to_string().starts_with("step 2: `subject`"), "{err}");
    }

    #[test]
    fn if_not_accepted_within_needs_an_earlier_invite() {
        let text = "name = \"e\"\n[[steps]]\naction = \"email\"\nsubject = \"s\"\ntemplate = \"t\"\ncondition = { if_not_accepted_within = 3 }\n";
        let err = Play::from_toml(text).unwrap_err();
        assert_eq!(
            err,
            PlayError::ConditionNeedsInvite {
                step: 0,
                condition: Condition::IfNotAcceptedWithin(3)
            }
        );
        assert_eq!(
            err.to_string(),
            "step 1: condition `if_not_accepted_within = 3` needs an earlier invite step"
        );
    }

    #[test]
    fn if_accepted_email_needs_an_earlier_invite() {
        let text = "name = \"e\"\n[[steps]]\naction = \"email\"\nsubject = \"s\"\ntemplate = \"t\"\ncondition = \"if_accepted\"\n";
        assert_eq!(
            Play::from_toml(text),
            Err(PlayError::ConditionNeedsInvite {
                step: 0,
                condition: Condition::IfAccepted
            })
        );
    }

    #[test]
    fn unknown_variables_are_refused() {
        assert_eq!(
            variant("Hello {{ first_name }}", "Hello {{ nickname }}"),
            Err(PlayError::UnknownVariable {
                step: 1,
                name: "nickname".into()
            })
        );
    }

    #[test]
    fn zero_days_is_refused() {
        assert_eq!(
            variant("if_not_accepted_within = 7", "if_not_accepted_within = 0"),
            Err(PlayError::ZeroDays { step: 1 })
        );
    }

    #[test]
    fn subject_on_a_message_is_refused() {
        assert_eq!(
            variant(r#"delay = "12h""#, "delay = \"12h\"\nsubject = \"oops\""),
            Err(PlayError::SubjectWithoutEmail {
                step: 2,
                action: Action::Message
            })
        );
    }

    #[test]
    fn a_note_whose_fixed_text_exceeds_300_chars_is_refused() {
        let long = format!("{} {{{{first_name}}}}", "é".repeat(301));
        let err = variant("Hi {{first_name}}", &long).unwrap_err();
        assert_eq!(
            err,
            PlayError::NoteTooLong {
                step: 0,
                len: 302,
                max: 300
            }
        );
        // Exactly 300 fixed characters (the edge whitespace is trimmed) still passes.
        let edge = format!("  {}{{{{first_name}}}}  ", "é".repeat(300));
        assert!(variant("Hi {{first_name}}", &edge).is_ok());
    }
}
