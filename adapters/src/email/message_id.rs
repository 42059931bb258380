//! The Message-ID of a step's email, derived from its step key.
//!
//! SMTP has no "did you get it?" query, and a relay that accepted a mail may still lose our
//! connection before saying so. A Message-ID that is a function of the step key makes a resend
//! the *same* message: receivers and most relays drop a repeated Message-ID. It also threads the
//! lead's answer back: a reply's `In-Reply-To` names the step, hence the workspace and the lead.
//! The key is hex-encoded (ids may hold anything; a Message-ID may not).

use plera_domain::ports::StepKey;

use crate::provider::{key_marker, parse_key_marker};

const PREFIX: &str = "plera.";

/// `<plera.{hex of the step key}@{domain}>`.
pub fn message_id_for(key: &StepKey, domain: &str) -> String {
    let hex: String = key_marker(key)
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("<{PREFIX}{hex}@{domain}>")
}

/// The step a Message-ID (with or without angle brackets) was made for, if it is one of ours.
pub fn step_of_message_id(message_id: &str) -> Option<StepKey> {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let (left, _) = id.split_once('@')?;
    let hex = left.strip_prefix(PREFIX)?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    parse_key_marker(std::str::from_utf8(&bytes).ok()?)
}

/// The step of the first of `ids` (an `In-Reply-To` or `References` value) that is ours.
pub fn step_of_references(ids: &str) -> Option<StepKey> {
    ids.split_whitespace().find_map(step_of_message_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plera_domain::ids::SequenceId;

    #[test]
    fn a_message_id_names_its_step_and_is_always_the_same() {
        let key = StepKey {
            sequence: SequenceId::new("ws/camp/lead é"),
            step: 2,
        };
        let id = message_id_for(&key, "mail.acme.io");
        assert_eq!(id, message_id_for(&key, "mail.acme.io"));
        assert!(id.is_ascii() && id.starts_with("<plera.") && id.ends_with("@mail.acme.io>"));
        assert_eq!(step_of_message_id(&id), Some(key.clone()));
        assert_eq!(step_of_references(&format!("<other@x.io> {id}")), Some(key));
        assert_eq!(step_of_message_id("<plera.zz@x>"), None);
        assert_eq!(step_of_message_id("<abc@x>"), None);
    }
}
