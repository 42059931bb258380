use plera_domain::campaign::CampaignError;
use plera_domain::lead::LeadSequenceError;
use plera_domain::sender::SenderAccountError;
use plera_domain::workspace::WorkspaceError;
use thiserror::Error;

use crate::store::StoreError;

/// Every way an engine call can fail. Ids of another workspace are reported as not found.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EngineError {
    /// No such thing in this workspace.
    #[error("{kind} `{id}` not found")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The lead is active in a sequence of the workspace already.
    #[error("lead `{0}` is already in a sequence")]
    AlreadyInSequence(String),
    /// The lead replied to an earlier sequence (enroll with `force` to override).
    #[error("lead `{0}` replied before; enroll with force to contact them again")]
    PreviouslyReplied(String),
    /// The lead opted out (enroll with `force` to override).
    #[error("lead `{0}` opted out")]
    OptedOut(String),
    /// A connection flow refused (unknown, spent or expired state).
    #[error("connection refused: {0}")]
    Workspace(WorkspaceError),
    /// The sender refused a command.
    #[error("sender refused: {0}")]
    Sender(SenderAccountError),
    /// The sequence refused a command.
    #[error("sequence refused: {0}")]
    Lead(LeadSequenceError),
    /// The campaign refused a command.
    #[error("campaign refused: {0}")]
    Campaign(CampaignError),
    /// An invalid play.
    #[error("invalid play: {0}")]
    Play(String),
    /// Input that makes no sense (empty ids, absurd values).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The event store failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The lead directory failed.
    #[error("lead directory failure: {0}")]
    Directory(String),
    /// The engine was shut down (or its actor system stopped).
    #[error("the engine is not running")]
    SystemDown,
    /// An injected crash (fault tests and the simulator): rebuild the engine from the log.
    #[error("injected crash")]
    Crashed,
}

impl EngineError {
    /// A not-found error.
    pub fn not_found(kind: &'static str, id: &str) -> Self {
        EngineError::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// Whether the same call could succeed later: the engine or its store was down (or
    /// crashed), not the input refused.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            EngineError::Store(_)
                | EngineError::SystemDown
                | EngineError::Directory(_)
                | EngineError::Crashed
        )
    }
}
