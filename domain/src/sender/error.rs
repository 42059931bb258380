use thiserror::Error;

use crate::values::LimitsError;

/// Why the `SenderAccount` aggregate refused a command.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SenderAccountError {
    /// The account has not been connected yet.
    #[error("the sender account is not connected")]
    NotConnected,
    /// `Connect` on an account that is already connected.
    #[error("the sender account is already connected")]
    AlreadyConnected,
    /// The account was disconnected; it takes no more commands.
    #[error("the sender account was disconnected")]
    Disconnected,
    /// Limits above the ceilings.
    #[error("invalid limits: {0}")]
    InvalidLimits(#[from] LimitsError),
    /// `Resume` or `ResumeAfterCooldown` on an account that is not paused.
    #[error("the sender account is not paused")]
    NotPaused,
    /// `Resume` while the session is expired: the user must reconnect instead.
    #[error("the sender's session expired: reconnect the account")]
    NeedsReconnect,
    /// `ResumeAfterCooldown` before the pause's end, or on a pause that waits for the user.
    #[error("the pause has not ended by itself")]
    CooldownNotOver,
    /// `Reconnect` on an account whose session is fine.
    #[error("the sender account does not need a reconnect")]
    ReconnectNotNeeded,
}
