use thiserror::Error;

use crate::values::Action;

/// Why the `LeadSequence` aggregate refused a command.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LeadSequenceError {
    /// A command other than `Start` on a sequence that was never started.
    #[error("the sequence has not started")]
    NotStarted,
    /// `Start` on a sequence that exists.
    #[error("the lead is already in this sequence")]
    AlreadyStarted,
    /// A step or outcome after the sequence stopped.
    #[error("the sequence has stopped")]
    Stopped,
    /// A step or outcome after the sequence completed.
    #[error("the sequence has completed")]
    Completed,
    /// `StartStep` while another step's outcome is not recorded yet.
    #[error("step {0} is still in flight")]
    StepInFlight(u32),
    /// `StartStep` while a step's outcome is unknown: reconcile it first.
    #[error("step {0} has an unknown outcome: reconcile it first")]
    OutcomeUnknown(u32),
    /// An outcome for a step that is not the one in flight.
    #[error("no step {0} is in flight")]
    NoSuchStepInFlight(u32),
    /// An outcome that does not match the action of the step in flight.
    #[error("step {step} is a {expected} step, not a {got} step")]
    WrongAction {
        /// The step.
        step: u32,
        /// The action it was started with.
        expected: Action,
        /// The action of the outcome.
        got: Action,
    },
    /// `StartStep` or `SkipStep` for a step other than the next one.
    #[error("step {got} is not the next step (expected {expected})")]
    StepOutOfOrder {
        /// The next step.
        expected: u32,
        /// The step given.
        got: u32,
    },
    /// A second invite in one sequence.
    #[error("an invite was already sent in this sequence")]
    InviteAlreadySent,
    /// A message step to a lead who is neither 1st-degree at enrollment nor accepted since.
    #[error("messages go only to 1st-degree connections")]
    NotFirstDegree,
    /// A LinkedIn step without a sender, or an email step without a mailbox.
    #[error("a {0} step needs its sender or mailbox")]
    MissingChannelEndpoint(Action),
}
