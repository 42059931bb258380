//! From what went wrong on the wire to the engine's classes of failure.
//!
//! - the connection was never made → `Transient` (nothing was sent, trying again is safe);
//! - the call timed out, or the connection broke after the request left → `Timeout` (the
//!   provider may have acted: the engine reconciles before anything else);
//! - an error object → `GatewayErrorKind::from_provider(status, type, detail)`;
//! - a 504/408 without a known slug on a call that changes something → `Timeout`: a gateway
//!   in front of the provider gave up waiting, the provider itself may have acted;
//! - a success or an error we cannot read → `Malformed` (an error status without a body
//!   falls back on the status: 429, 401/403, 5xx).

use plera_domain::ports::{GatewayError, GatewayErrorKind};

use super::wire::ErrorBody;

/// Longest provider detail kept in an error (an HTML error page is not worth more).
const MAX_DETAIL: usize = 300;

/// A failure of the transport itself.
pub(crate) fn transport(error: &reqwest::Error) -> GatewayError {
    if error.is_connect() {
        GatewayError::new(
            GatewayErrorKind::Transient,
            "could not connect to the provider: the request was not sent",
        )
    } else if error.is_timeout() {
        GatewayError::new(
            GatewayErrorKind::Timeout,
            "the provider did not answer in time: the outcome is unknown",
        )
    } else {
        GatewayError::new(
            GatewayErrorKind::Timeout,
            "the connection broke after the request was sent: the outcome is unknown",
        )
    }
}

/// The answer to a call that failed with `status` and `body`.
pub(crate) fn answer(status: u16, body: &[u8], mutating: bool) -> GatewayError {
    let parsed = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .filter(|e| e.object == "Error");
    let Some(error) = parsed else {
        if mutating && matches!(status, 408 | 504) {
            return lost_at_gateway(status);
        }
        let kind = GatewayErrorKind::from_provider(status, "", "");
        return GatewayError::new(kind, format!("HTTP {status} without an error object"));
    };
    let slug = error.kind.strip_prefix("errors/").unwrap_or(&error.kind);
    let detail = error
        .detail
        .as_deref()
        .or(error.title.as_deref())
        .unwrap_or("");
    let kind = GatewayErrorKind::from_provider(status, slug, detail);
    // Without a status to fall back on, only a known slug classifies as anything but Malformed.
    let unknown_slug =
        GatewayErrorKind::from_provider(0, slug, detail) == GatewayErrorKind::Malformed;
    if mutating && matches!(status, 408 | 504) && unknown_slug {
        return lost_at_gateway(status);
    }
    GatewayError::new(kind, clip(&format!("{slug}: {detail}")))
}

/// A success body that does not parse.
pub(crate) fn malformed(what: &str, error: &serde_json::Error) -> GatewayError {
    GatewayError::new(
        GatewayErrorKind::Malformed,
        clip(&format!("unreadable {what}: {error}")),
    )
}

fn lost_at_gateway(status: u16) -> GatewayError {
    GatewayError::new(
        GatewayErrorKind::Timeout,
        format!(
            "HTTP {status}: a gateway gave up waiting for the provider; the outcome is unknown"
        ),
    )
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Removes every occurrence of `secret` from `text` (a provider could echo the key back).
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, "[redacted]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_timeout_on_a_send_is_an_unknown_outcome_but_not_on_a_read() {
        assert_eq!(answer(504, b"", true).kind, GatewayErrorKind::Timeout);
        assert_eq!(answer(504, b"", false).kind, GatewayErrorKind::Transient);
        let known = br#"{"object":"Error","type":"errors/network_down","status":504}"#;
        assert_eq!(answer(504, known, true).kind, GatewayErrorKind::Transient);
    }

    #[test]
    fn long_details_are_clipped_and_secrets_scrubbed() {
        let body = format!(
            r#"{{"object":"Error","type":"errors/provider_error","detail":"{}"}}"#,
            "x".repeat(1000)
        );
        let error = answer(500, body.as_bytes(), true);
        assert!(error.detail.chars().count() <= MAX_DETAIL + 1);
        assert_eq!(
            scrub("key=abc123 again abc123", "abc123"),
            "key=[redacted] again [redacted]"
        );
    }
}
