//! The sandbox's `GatewayError`s as the provider's error objects, chosen so that the client's
//! `GatewayErrorKind::from_provider` reads back the very same class; and the lost answer.

use actix_web::HttpResponse;
use plera_domain::ports::{GatewayError, GatewayErrorKind};

use crate::provider::wire::ErrorBody;

/// The status and slug that classify back as `error.kind`.
pub(super) fn status_and_slug(error: &GatewayError) -> (u16, &'static str) {
    use GatewayErrorKind::*;
    let candidates: &[(u16, &'static str)] = match error.kind {
        TooManyRequests => &[(429, "too_many_requests")],
        LimitExceeded => &[(422, "limit_exceeded")],
        TemporaryProviderLimit => &[(422, "cannot_resend_yet")],
        CannotInviteLeadYet => &[
            (422, "cannot_resend_yet"),
            (422, "already_invited_recently"),
        ],
        AlreadyConnected => &[(422, "already_connected")],
        NotConnected => &[(422, "no_connection_with_recipient")],
        RecipientRefused => &[(422, "invalid_recipient")],
        AlreadyPerformed => &[(422, "action_already_performed")],
        NoteTooLong => &[(422, "too_many_characters")],
        InsufficientCredits => &[(422, "insufficient_credits")],
        Restricted => &[(401, "account_restricted")],
        SessionExpired => &[(401, "disconnected_account")],
        Transient | Timeout | Malformed => &[(503, "network_down")],
    };
    let detail = detail_of(error);
    candidates
        .iter()
        .copied()
        .find(|(status, slug)| GatewayErrorKind::from_provider(*status, slug, detail) == error.kind)
        .unwrap_or(candidates[candidates.len() - 1])
}

/// The sandbox's detail without the slug it often starts with (the client adds it back).
fn detail_of(error: &GatewayError) -> &str {
    error
        .detail
        .split_once(": ")
        .filter(|(head, _)| head.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map_or(error.detail.as_str(), |(_, rest)| rest)
}

/// The error object answering `error`.
pub(super) fn error_response(error: &GatewayError) -> HttpResponse {
    let (status, slug) = status_and_slug(error);
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(code).json(ErrorBody {
        object: "Error".into(),
        kind: format!("errors/{slug}"),
        status: Some(status),
        title: Some(slug.replace('_', " ")),
        detail: Some(detail_of(error).to_string()),
    })
}

/// An error object built from scratch (bad requests to the sandbox itself).
pub(super) fn plain_error(status: u16, slug: &str, detail: &str) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(code).json(ErrorBody {
        object: "Error".into(),
        kind: format!("errors/{slug}"),
        status: Some(status),
        title: None,
        detail: Some(detail.to_string()),
    })
}

/// A response whose body fails at once: the connection drops after the request was handled,
/// as when a provider's answer is lost on the way back.
pub(super) fn lost_answer() -> HttpResponse {
    let failing = futures::stream::once(async {
        Err::<actix_web::web::Bytes, std::io::Error>(std::io::Error::other("answer lost"))
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(failing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_reads_back_as_itself() {
        use GatewayErrorKind::*;
        let cases = [
            (TooManyRequests, "too many"),
            (LimitExceeded, "weekly invitation limit reached"),
            (TemporaryProviderLimit, "Temporary provider limit"),
            (
                CannotInviteLeadYet,
                "Delay new invitation to this recipient",
            ),
            (CannotInviteLeadYet, "no reason given"),
            (
                AlreadyConnected,
                "already_connected: lead-1 is already a connection",
            ),
            (NotConnected, ""),
            (RecipientRefused, ""),
            (AlreadyPerformed, ""),
            (NoteTooLong, ""),
            (InsufficientCredits, ""),
            (Restricted, "account_restricted: acc-1 is restricted"),
            (SessionExpired, ""),
            (Transient, "network_down: the provider could not be reached"),
        ];
        for (kind, detail) in cases {
            let error = GatewayError::new(kind, detail);
            let (status, slug) = status_and_slug(&error);
            assert_eq!(
                GatewayErrorKind::from_provider(status, slug, detail_of(&error)),
                kind,
                "{detail}"
            );
        }
        let error = GatewayError::new(
            AlreadyConnected,
            "already_connected: lead-1 is a connection",
        );
        assert_eq!(detail_of(&error), "lead-1 is a connection");
    }
}
