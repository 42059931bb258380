use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fmt;
use thiserror::Error;

use crate::ids::{AccountId, LeadId, ProviderAccountId, SequenceId};
use crate::lead::SkipReason;
use crate::sender::WarningKind;

/// Names one step of one sequence: the idempotency key of its side effect. A gateway that sees
/// the same key twice does the action once; reconciliation asks by key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepKey {
    /// The sequence.
    pub sequence: SequenceId,
    /// The step index.
    pub step: u32,
}

impl fmt::Display for StepKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.sequence, self.step)
    }
}

/// A connection invite to send.
#[derive(Clone, Debug, PartialEq)]
pub struct InviteRequest {
    /// The step it belongs to.
    pub key: StepKey,
    /// Our sender.
    pub account: AccountId,
    /// The provider's id of the sender's LinkedIn account.
    pub provider_account: ProviderAccountId,
    /// The lead.
    pub lead: LeadId,
    /// The rendered note, already checked against the tier's length limit.
    pub note: Option<String>,
}

/// A direct message to a 1st-degree connection.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRequest {
    /// The step it belongs to.
    pub key: StepKey,
    /// Our sender.
    pub account: AccountId,
    /// The provider's id of the sender's LinkedIn account.
    pub provider_account: ProviderAccountId,
    /// The lead.
    pub lead: LeadId,
    /// The rendered text.
    pub text: String,
}

/// Proof that LinkedIn took an invite.
#[derive(Clone, Debug, PartialEq)]
pub struct InviteReceipt {
    /// The provider's invitation id.
    pub invitation_id: String,
    /// The provider-reported share of its quota used, `0.0..=1.0`, when it reports one.
    pub usage: Option<f64>,
    /// When the provider took it.
    pub at: DateTime<Utc>,
}

/// Proof that LinkedIn took a message.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageReceipt {
    /// The provider's message id.
    pub message_id: String,
    /// When the provider took it.
    pub at: DateTime<Utc>,
}

/// Talks to LinkedIn through a provider; implemented by the sandbox and the HTTP adapter.
#[async_trait]
pub trait LinkedInGateway: Send + Sync {
    /// Sends a connection invite.
    async fn send_invite(&self, request: InviteRequest) -> Result<InviteReceipt, GatewayError>;

    /// Sends a direct message.
    async fn send_message(&self, request: MessageRequest) -> Result<MessageReceipt, GatewayError>;

    /// Whether the invite of `key` really reached LinkedIn (reconciles an unknown outcome).
    async fn find_invite(&self, key: &StepKey) -> Result<Option<InviteReceipt>, GatewayError>;

    /// Whether the message of `key` really reached LinkedIn (reconciles an unknown outcome).
    async fn find_message(&self, key: &StepKey) -> Result<Option<MessageReceipt>, GatewayError>;
}

/// A gateway failure, already classified.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{kind}: {detail}")]
pub struct GatewayError {
    /// The class of the failure.
    pub kind: GatewayErrorKind,
    /// The provider's words (never a credential).
    pub detail: String,
}

/// The classes of provider failures the engine tells apart (`linkedin-facts.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GatewayErrorKind {
    /// 429 `too_many_requests`.
    TooManyRequests,
    /// `limit_exceeded`: the account hit LinkedIn's limit.
    LimitExceeded,
    /// `cannot_resend_yet` meaning a temporary limit on the account.
    TemporaryProviderLimit,
    /// `cannot_resend_yet` / `already_invited_recently`: no new invite to this person for now.
    CannotInviteLeadYet,
    /// `already_connected`: the lead is a connection already.
    AlreadyConnected,
    /// `no_connection_with_recipient`: a message to someone not connected.
    NotConnected,
    /// `invalid_recipient`, `blocked_recipient`, `user_unreachable`, `cannot_invite_attendee`,
    /// `not_allowed_inmail`: this lead cannot be reached this way.
    RecipientRefused,
    /// `action_already_performed`: the provider already did this (a repeat of a done action).
    AlreadyPerformed,
    /// `too_many_characters`: the note is too long (a bug on our side: notes are checked first).
    NoteTooLong,
    /// `insufficient_credits`.
    InsufficientCredits,
    /// 401 `account_restricted`.
    Restricted,
    /// 401 `disconnected_account`, `checkpoint_error`: the session must be renewed.
    SessionExpired,
    /// 500 / 503 `provider_error`, `no_client_session`, `network_down`: try again later.
    Transient,
    /// The call timed out or its answer was lost: the action may or may not have happened.
    Timeout,
    /// An answer we could not read.
    Malformed,
}

impl fmt::Display for GatewayErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the engine does about a gateway failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Record the warning on the sender (which pauses it) and retry the step after the pause.
    PauseAccount(WarningKind),
    /// Pass over this lead's step and take the play's branch.
    SkipStep(SkipReason),
    /// Treat the action as done (the provider says it already happened).
    AlreadyDone,
    /// Retry the step later with back-off.
    Retry,
    /// The outcome is unknown: reconcile before anything else.
    Unknown,
    /// Give up on this step for good.
    Fail,
}

impl GatewayErrorKind {
    /// The stable snake_case name used in events (`StepFailed.reason`) and logs.
    pub fn as_str(self) -> &'static str {
        use GatewayErrorKind::*;
        match self {
            TooManyRequests => "too_many_requests",
            LimitExceeded => "limit_exceeded",
            TemporaryProviderLimit => "temporary_provider_limit",
            CannotInviteLeadYet => "cannot_invite_lead_yet",
            AlreadyConnected => "already_connected",
            NotConnected => "not_connected",
            RecipientRefused => "recipient_refused",
            AlreadyPerformed => "already_performed",
            NoteTooLong => "note_too_long",
            InsufficientCredits => "insufficient_credits",
            Restricted => "restricted",
            SessionExpired => "session_expired",
            Transient => "transient",
            Timeout => "timeout",
            Malformed => "malformed",
        }
    }

    /// Classifies a provider error from its HTTP status, `errors/<slug>` type and detail text.
    /// `cannot_resend_yet` is overloaded: a detail mentioning the recipient/invitation to this
    /// person means "not this lead for now"; otherwise it is a temporary limit on the account.
    pub fn from_provider(status: u16, slug: &str, detail: &str) -> Self {
        use GatewayErrorKind::*;
        let slug = slug.strip_prefix("errors/").unwrap_or(slug);
        match slug {
            "too_many_requests" => TooManyRequests,
            "limit_exceeded" => LimitExceeded,
            "cannot_resend_yet" => {
                let d = detail.to_ascii_lowercase();
                if d.contains("recipient") || d.contains("this person") || d.contains("invitation")
                {
                    CannotInviteLeadYet
                } else {
                    TemporaryProviderLimit
                }
            }
            "already_invited_recently" | "cannot_resend_within_24hrs" => CannotInviteLeadYet,
            "already_connected" => AlreadyConnected,
            "no_connection_with_recipient" => NotConnected,
            "invalid_recipient"
            | "blocked_recipient"
            | "user_unreachable"
            | "cannot_invite_attendee"
            | "not_allowed_inmail" => RecipientRefused,
            "action_already_performed" => AlreadyPerformed,
            "too_many_characters" => NoteTooLong,
            "insufficient_credits" => InsufficientCredits,
            "account_restricted" => Restricted,
            "disconnected_account" | "checkpoint_error" => SessionExpired,
            "provider_error" | "no_client_session" | "network_down" => Transient,
            _ => match status {
                429 => TooManyRequests,
                401 | 403 => SessionExpired,
                500..=599 => Transient,
                _ => Malformed,
            },
        }
    }

    /// What the engine does about this class of failure.
    pub fn disposition(self) -> Disposition {
        use GatewayErrorKind::*;
        match self {
            TooManyRequests | LimitExceeded => Disposition::PauseAccount(WarningKind::RateLimited),
            TemporaryProviderLimit => {
                Disposition::PauseAccount(WarningKind::TemporaryProviderLimit)
            }
            Restricted => Disposition::PauseAccount(WarningKind::Restricted),
            SessionExpired => Disposition::PauseAccount(WarningKind::SessionExpired),
            CannotInviteLeadYet => Disposition::SkipStep(SkipReason::CannotInviteYet),
            AlreadyConnected => Disposition::SkipStep(SkipReason::AlreadyConnected),
            NotConnected => Disposition::SkipStep(SkipReason::NotConnected),
            RecipientRefused => Disposition::SkipStep(SkipReason::RecipientRefused),
            AlreadyPerformed => Disposition::AlreadyDone,
            Transient => Disposition::Retry,
            Timeout => Disposition::Unknown,
            NoteTooLong | InsufficientCredits | Malformed => Disposition::Fail,
        }
    }
}

impl GatewayError {
    /// A classified error.
    pub fn new(kind: GatewayErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cannot_resend_yet_is_told_apart_by_its_detail() {
        assert_eq!(
            GatewayErrorKind::from_provider(
                422,
                "errors/cannot_resend_yet",
                "Delay new invitation to this recipient"
            ),
            GatewayErrorKind::CannotInviteLeadYet
        );
        assert_eq!(
            GatewayErrorKind::from_provider(
                422,
                "errors/cannot_resend_yet",
                "Temporary provider limit"
            ),
            GatewayErrorKind::TemporaryProviderLimit
        );
    }

    #[test]
    fn every_documented_slug_is_classified() {
        let cases = [
            (
                422,
                "invalid_recipient",
                Disposition::SkipStep(SkipReason::RecipientRefused),
            ),
            (
                422,
                "no_connection_with_recipient",
                Disposition::SkipStep(SkipReason::NotConnected),
            ),
            (
                422,
                "blocked_recipient",
                Disposition::SkipStep(SkipReason::RecipientRefused),
            ),
            (
                422,
                "user_unreachable",
                Disposition::SkipStep(SkipReason::RecipientRefused),
            ),
            (422, "action_already_performed", Disposition::AlreadyDone),
            (
                422,
                "not_allowed_inmail",
                Disposition::SkipStep(SkipReason::RecipientRefused),
            ),
            (422, "insufficient_credits", Disposition::Fail),
            (
                422,
                "cannot_resend_within_24hrs",
                Disposition::SkipStep(SkipReason::CannotInviteYet),
            ),
            (
                422,
                "limit_exceeded",
                Disposition::PauseAccount(WarningKind::RateLimited),
            ),
            (
                422,
                "already_invited_recently",
                Disposition::SkipStep(SkipReason::CannotInviteYet),
            ),
            (
                422,
                "already_connected",
                Disposition::SkipStep(SkipReason::AlreadyConnected),
            ),
            (
                422,
                "cannot_invite_attendee",
                Disposition::SkipStep(SkipReason::RecipientRefused),
            ),
            (422, "too_many_characters", Disposition::Fail),
            (
                429,
                "too_many_requests",
                Disposition::PauseAccount(WarningKind::RateLimited),
            ),
            (
                401,
                "disconnected_account",
                Disposition::PauseAccount(WarningKind::SessionExpired),
            ),
            (
                401,
                "account_restricted",
                Disposition::PauseAccount(WarningKind::Restricted),
            ),
            (
                401,
                "checkpoint_error",
                Disposition::PauseAccount(WarningKind::SessionExpired),
            ),
            (500, "provider_error", Disposition::Retry),
            (503, "no_client_session", Disposition::Retry),
            (503, "network_down", Disposition::Retry),
        ];
        for (status, slug, expected) in cases {
            let kind = GatewayErrorKind::from_provider(status, &format!("errors/{slug}"), "");
            assert_eq!(kind.disposition(), expected, "{slug}");
        }
    }

    #[test]
    fn unknown_slugs_fall_back_on_the_status() {
        assert_eq!(
            GatewayErrorKind::from_provider(503, "errors/something_new", ""),
            GatewayErrorKind::Transient
        );
        assert_eq!(
            GatewayErrorKind::from_provider(418, "errors/teapot", ""),
            GatewayErrorKind::Malformed
        );
    }
}
