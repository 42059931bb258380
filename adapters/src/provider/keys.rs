//! The step key as it travels in headers (`Idempotency-Key`), listings and Message-IDs, and what
//! can be read back from it.
//!
//! Ids may hold any character; a header value must be visible ASCII, so the key's text
//! (`workspace/campaign/lead#step`) is percent-encoded, keeping the characters ids usually have.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use plera_domain::ids::{LeadId, SequenceId, WorkspaceId};
use plera_domain::ports::StepKey;

/// Everything but letters, digits and `- . _ ~ / #` is escaped.
const MARKER: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b'#');

/// The header-safe text of a step key.
pub fn key_marker(key: &StepKey) -> String {
    utf8_percent_encode(&key.to_string(), MARKER).to_string()
}

/// The step key a marker names, if it is one.
pub fn parse_key_marker(marker: &str) -> Option<StepKey> {
    let text = percent_decode_str(marker).decode_utf8().ok()?;
    let (sequence, step) = text.rsplit_once('#')?;
    if sequence.is_empty() {
        return None;
    }
    Some(StepKey {
        sequence: SequenceId::new(sequence),
        step: step.parse().ok()?,
    })
}

/// The workspace and the lead a sequence id names (`workspace/campaign/lead`); workspace and lead
/// ids are assumed free of `/` (campaign ids may hold one).
pub fn sequence_parts(sequence: &SequenceId) -> Option<(WorkspaceId, LeadId)> {
    let text = sequence.as_str();
    let (workspace, rest) = text.split_once('/')?;
    let (_, lead) = rest.rsplit_once('/')?;
    if workspace.is_empty() || lead.is_empty() {
        return None;
    }
    Some((WorkspaceId::new(workspace), LeadId::new(lead)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_reads_back_as_its_key_whatever_the_ids_hold() {
        let key = StepKey {
            sequence: SequenceId::new("ws 1/camp/é\"lead"),
            step: 3,
        };
        let marker = key_marker(&key);
        assert!(marker.bytes().all(|b| b.is_ascii_graphic()), "{marker}");
        assert_eq!(parse_key_marker(&marker), Some(key));
        assert_eq!(parse_key_marker("no-step"), None);
        assert_eq!(parse_key_marker("ws/c/l#x"), None);
    }

    #[test]
    fn a_sequence_names_its_workspace_and_lead() {
        let parts = sequence_parts(&SequenceId::new("ws/q3/outbound/lead-7"));
        assert_eq!(parts, Some((WorkspaceId::new("ws"), LeadId::new("lead-7"))));
        assert_eq!(sequence_parts(&SequenceId::new("nolead")), None);
    }
}
