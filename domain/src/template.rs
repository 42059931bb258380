//! Templates with `{{variable}}` placeholders, rendered from a lead's profile.
//!
//! The syntax is deliberately tiny: literal text and `{{name}}` placeholders, nothing else. No
//! conditionals and no defaults, because a fallback such as "Hi there" hides a missing first name
//! from the user; a missing or empty variable is an error, so the step fails visibly instead of
//! sending "Hi ,".

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The variables a play's template may use; the runtime fills them from the lead's profile and the
/// sender account. Plays are checked against this list when loaded.
pub const VARIABLES: &[&str] = &[
    "first_name",
    "last_name",
    "full_name",
    "company",
    "title",
    "sender_first_name",
];

/// Where a template's variables come from. The runtime implements it for its own profiles, so the
/// domain does not fix what a lead profile looks like.
pub trait TemplateVars {
    /// The value of variable `name`, if known.
    fn var(&self, name: &str) -> Option<&str>;
}

impl TemplateVars for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl TemplateVars for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl<T: TemplateVars + ?Sized> TemplateVars for &T {
    fn var(&self, name: &str) -> Option<&str> {
        (**self).var(name)
    }
}

/// Why a template could not be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// A `{{` without its `}}`.
    #[error("`{{{{` at byte {offset} is never closed with `}}}}`")]
    Unclosed {
        /// Byte offset of the opening braces.
        offset: usize,
    },
    /// `{{}}` or `{{   }}`.
    #[error("empty placeholder `{{{{}}}}` at byte {offset}")]
    EmptyName {
        /// Byte offset of the opening braces.
        offset: usize,
    },
    /// A placeholder name with characters other than ASCII letters, digits and `_`.
    #[error("`{name}` is not a variable name (use letters, digits and `_`)")]
    InvalidName {
        /// The name as written.
        name: String,
    },
    /// Rendering needed a variable that is unknown or empty for this lead.
    #[error("variable `{name}` is missing or empty")]
    MissingVariable {
        /// The variable.
        name: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Text(String),
    Var(String),
}

/// A parsed template: literal text and placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `{{name}}` placeholders; whitespace inside the braces is allowed (`{{ name }}`).
    /// A lone `{` or `}}` is literal text.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_owned()));
            }
            let after_open = &rest[open + 2..];
            let close = after_open.find("}}").ok_or(TemplateError::Unclosed {
                offset: offset + open,
            })?;
            let name = after_open[..close].trim();
            if name.is_empty() {
                return Err(TemplateError::EmptyName {
                    offset: offset + open,
                });
            }
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(TemplateError::InvalidName {
                    name: name.to_owned(),
                });
            }
            segments.push(Segment::Var(name.to_owned()));
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_owned()));
        }
        Ok(Template {
            source: source.to_owned(),
            segments,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The distinct variables the template uses, in order of first use.
    pub fn variables(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for segment in &self.segments {
            if let Segment::Var(name) = segment {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The number of characters the template has outside its placeholders: a lower bound on the
    /// length of anything it renders.
    pub fn literal_chars(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.chars().count(),
                Segment::Var(_) => 0,
            })
            .sum()
    }

    /// Fills in the placeholders. Values are inserted trimmed; a variable that is absent, empty or
    /// only whitespace is an error, never an empty string.
    pub fn render(&self, vars: &impl TemplateVars) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.source.len());
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Var(name) => {
                    let value = vars
                        .var(name)
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| TemplateError::MissingVariable { name: name.clone() })?;
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }
}

impl FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::parse(s)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn renders_placeholders_with_and_without_inner_whitespace() {
        let t = Template::parse("Hi {{first_name}}, how is {{ company }}?").unwrap();
        let out = t
            .render(&vars(&[("first_name", "Ada"), ("company", "Acme")]))
            .unwrap();
        assert_eq!(out, "Hi Ada, how is Acme?");
    }

    #[test]
    fn text_without_placeholders_renders_unchanged() {
        let t = Template::parse("Plain { text } with }} stray braces").unwrap();
        assert!(t.variables().is_empty());
        assert_eq!(
            t.render(&BTreeMap::new()).unwrap(),
            "Plain { text } with }} stray braces"
        );
    }

    #[test]
    fn variables_are_distinct_in_order_of_first_use() {
        let t = Template::parse("{{company}} {{first_name}} {{ company }} {{title}}").unwrap();
        assert_eq!(t.variables(), vec!["company", "first_name", "title"]);
    }

    #[test]
    fn unclosed_placeholder_is_an_error_with_its_offset() {
        assert_eq!(
            Template::parse("Hi {{first_name}}, at {{company"),
            Err(TemplateError::Unclosed { offset: 22 })
        );
    }

    #[test]
    fn empty_placeholder_is_an_error() {
        assert_eq!(
            Template::parse("Hi {{  }}!"),
            Err(TemplateError::EmptyName { offset: 3 })
        );
        assert_eq!(
            Template::parse("{{}}"),
            Err(TemplateError::EmptyName { offset: 0 })
        );
    }

    #[test]
    fn names_with_spaces_or_braces_are_refused() {
        assert_eq!(
            Template::parse("{{first name}}"),
            Err(TemplateError::InvalidName {
                name: "first name".into()
            })
        );
        assert!(matches!(
            Template::parse("{{{first_name}}}"),
            Err(TemplateError::InvalidName { .. })
        ));
    }

    #[test]
    fn missing_variable_is_an_error_not_an_empty_string() {
        let t = Template::parse("Hi {{first_name}} from {{company}}").unwrap();
        assert_eq!(
            t.render(&vars(&[("first_name", "Ada")])),
            Err(TemplateError::MissingVariable {
                name: "company".into()
            })
        );
    }

    #[test]
    fn empty_or_blank_variable_is_missing() {
        let t = Template::parse("Hi {{first_name}}").unwrap();
        for blank in ["", "   ", "\t\n"] {
            assert_eq!(
                t.render(&vars(&[("first_name", blank)])),
                Err(TemplateError::MissingVariable {
                    name: "first_name".into()
                })
            );
        }
    }

    #[test]
    fn values_are_inserted_trimmed_and_multibyte_safe() {
        let t = Template::parse("Grüße, {{first_name}}! 👋").unwrap();
        assert_eq!(
            t.render(&vars(&[("first_name", "  Zoë ")])).unwrap(),
            "Grüße, Zoë! 👋"
        );
        assert_eq!(t.literal_chars(), "Grüße, ! 👋".chars().count());
    }

    #[test]
    fn hashmap_and_references_provide_variables() {
        let mut map = HashMap::new();
        map.insert("title".to_owned(), "CTO".to_owned());
        let t = Template::parse("{{title}}").unwrap();
        assert_eq!(t.render(&&map).unwrap(), "CTO");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_and_plain_text_renders_as_is(text in "[^{]{0,40}|\\PC{0,80}") {
            if let Ok(t) = Template::parse(&text) {
                if !text.contains("{{") {
                    proptest::prop_assert_eq!(t.render(&BTreeMap::new()).unwrap(), text);
                }
            }
        }
    }

    #[test]
    fn display_and_from_str_keep_the_source() {
        let t: Template = "Hi {{ first_name }}".parse().unwrap();
        assert_eq!(t.to_string(), "Hi {{ first_name }}");
        assert_eq!(t.source(), "Hi {{ first_name }}");
    }
}
