//! `InviteNote`: a rendered invite note that fits LinkedIn's length limit for the sender's tier.
//!
//! The limit is checked here, before any call, because LinkedIn answers a long note with
//! `too_many_characters` and a silently truncated or dropped note is exactly what users complain
//! about. Length is counted in Unicode scalar values (`char`s) of the trimmed text: that is what the
//! published limits (300, 200 on free accounts) count, not bytes.

use std::fmt;

use thiserror::Error;

use crate::template::{Template, TemplateError, TemplateVars};
use crate::values::Tier;

/// Why a note could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    /// Longer than the tier allows.
    #[error("invite note is {len} characters, the limit is {max}")]
    TooLong {
        /// Characters after rendering and trimming.
        len: usize,
        /// The tier's limit.
        max: usize,
    },
    /// Nothing left after trimming: an invite without a note must say so (`None`), not send "".
    #[error("invite note is empty")]
    Empty,
    /// The note's template could not be rendered.
    #[error("invite note: {0}")]
    Template(#[from] TemplateError),
}

/// A note that is known to fit the sender's tier: the only way to attach a note to an invite.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InviteNote(String);

impl InviteNote {
    /// Checks a ready text: trims it and enforces the tier's limit.
    pub fn new(text: impl AsRef<str>, tier: Tier) -> Result<InviteNote, NoteError> {
        let text = text.as_ref().trim();
        if text.is_empty() {
            return Err(NoteError::Empty);
        }
        let len = text.chars().count();
        let max = tier.max_note_chars();
        if len > max {
            return Err(NoteError::TooLong { len, max });
        }
        Ok(InviteNote(text.to_owned()))
    }

    /// Renders `template` with `vars`, then checks the result as [`InviteNote::new`] does.
    pub fn render(
        template: &Template,
        vars: &impl TemplateVars,
        tier: Tier,
    ) -> Result<InviteNote, NoteError> {
        let text = template.render(vars)?;
        InviteNote::new(text, tier)
    }

    /// The note's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The note's length in characters.
    pub fn len_chars(&self) -> usize {
        self.0.chars().count()
    }

    /// The note's text, owned (what goes into `InviteSent { note }`).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for InviteNote {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InviteNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// `n` characters of which every one is multi-byte in UTF-8 (2, 3 and 4 bytes).
    fn multibyte(n: usize) -> String {
        ['é', '€', '😀'].iter().cycle().take(n).collect()
    }

    #[test]
    fn free_tier_accepts_exactly_200_multibyte_chars() {
        let text = multibyte(200);
        assert!(text.len() > 200, "the test must use multi-byte characters");
        let note = InviteNote::new(&text, Tier::Free).unwrap();
        assert_eq!(note.len_chars(), 200);
        assert_eq!(note.as_str(), text);
    }

    #[test]
    fn free_tier_refuses_201_chars() {
        assert_eq!(
            InviteNote::new(multibyte(201), Tier::Free),
            Err(NoteError::TooLong { len: 201, max: 200 })
        );
    }

    #[test]
    fn premium_tiers_accept_300_and_refuse_301_chars() {
        for tier in [Tier::Premium, Tier::SalesNavigator] {
            assert_eq!(
                InviteNote::new(multibyte(300), tier).unwrap().len_chars(),
                300
            );
            assert_eq!(
                InviteNote::new(multibyte(301), tier),
                Err(NoteError::TooLong { len: 301, max: 300 })
            );
        }
    }

    #[test]
    fn surrounding_whitespace_does_not_count() {
        let text = format!("  \n{}\t ", multibyte(200));
        let note = InviteNote::new(&text, Tier::Free).unwrap();
        assert_eq!(note.into_string(), multibyte(200));
    }

    #[test]
    fn a_blank_note_is_refused() {
        assert_eq!(
            InviteNote::new(" \n ", Tier::Premium),
            Err(NoteError::Empty)
        );
    }

    #[test]
    fn length_is_counted_after_rendering() {
        let template = Template::parse("Hi {{first_name}}! ").unwrap();
        let mut vars = BTreeMap::new();
        // "Hi " + name + "!" = 200 characters exactly on the free tier.
        vars.insert("first_name".to_owned(), multibyte(196));
        let note = InviteNote::render(&template, &vars, Tier::Free).unwrap();
        assert_eq!(note.len_chars(), 200);

        vars.insert("first_name".to_owned(), multibyte(197));
        assert_eq!(
            InviteNote::render(&template, &vars, Tier::Free),
            Err(NoteError::TooLong { len: 201, max: 200 })
        );
    }

    #[test]
    fn template_errors_are_wrapped() {
        let template = Template::parse("Hi {{first_name}}").unwrap();
        assert_eq!(
            InviteNote::render(&template, &BTreeMap::new(), Tier::Premium),
            Err(NoteError::Template(TemplateError::MissingVariable {
                name: "first_name".into()
            }))
        );
    }
}
