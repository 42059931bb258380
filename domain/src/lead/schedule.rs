//! What is due next for a sequence: the play contract, as one pure function of the sequence's
//! state and its play.
//!
//! [`next_step`] answers for the state as it is; it never reads a clock. Every time it returns
//! (`not_before`, `at`, `until`) may lie in the future: it is a plan that holds as long as no new
//! event arrives, so the runtime acts on it once its clock reaches that time and asks again after
//! every event of the sequence. A `Skip` whose `at` is in the future therefore reads "wait until
//! then, and skip if nothing changed" (an acceptance meanwhile turns it into a `Run`).
//!
//! The rules:
//! - **Anchor and delay.** Step *i* counts its delay from its *anchor*: when step *i−1* was
//!   resolved (sent, failed for good, or skipped), or the enrollment for step 0. It comes due at
//!   `anchor + delay`.
//! - **Out of office.** A `Run` never comes due before the lead's announced return date
//!   (`ooo_until`). Skips do not wait for it: they contact nobody.
//! - **Retries.** A step whose latest attempt failed retryably comes due again at
//!   `failure + retry_backoff(attempts)`: 15 minutes, doubling, capped at 24 hours.
//! - **In flight / unknown.** While a step's call runs the answer is `Wait`; once its outcome is
//!   unknown the answer is `Reconcile`, and nothing else starts until it is reconciled.
//! - **End.** Once the last step is resolved the answer is `Complete { at: that resolution }`;
//!   a stopped or completed sequence is `Finished`.
//! - **Connected** means 1st-degree at enrollment or `InviteAccepted` recorded.
//! - **Conditions** (`play::Condition`), checked in this order; a skip happens at the step's due
//!   time (`anchor + delay`) unless said otherwise, so a skipped step keeps the play's timeline:
//!   - `if_email_known` with the email unknown: skip (`condition_not_met`).
//!   - An email step with the email unknown: skip (`email_unknown`); with no mailbox on the
//!     campaign: skip (`condition_not_met`).
//!   - An invite step to a connected lead: skip (`already_connected`); a second invite step after
//!     an invite was sent: skip (`condition_not_met`), as LinkedIn allows one invite per person.
//!   - `if_not_accepted_within(d)`: connected → skip (`condition_not_met`) at once (at the anchor
//!     or the acceptance, whichever is later); else due at `max(anchor + delay, invite_sent + d
//!     days)`, or `anchor + d days` if no invite was sent, and run.
//!   - `if_accepted`: connected → run at `max(anchor + delay, accepted + delay)`; not connected
//!     and no invite ever sent → skip (`condition_not_met`); invite sent → skip
//!     (`condition_not_met`) at `invite_sent + ACCEPTANCE_WINDOW` unless accepted before.
//!   - `always` / `if_no_reply` (a reply stops the sequence anyway): run when due, except a
//!     message step to a lead who is not connected: skip (`not_connected`).

use chrono::{DateTime, Duration, Utc};

use super::{LeadSequence, PendingState, SequenceStatus, SkipReason};
use crate::play::{Condition, Play, PlayStep};
use crate::values::Action;

/// How long an `if_accepted` step waits for the invite to be accepted (about 99 % of acceptances
/// arrive within 30 days).
pub const ACCEPTANCE_WINDOW: Duration = Duration::days(30);

/// The first retry's back-off; each further retryable failure doubles it.
const FIRST_BACKOFF: Duration = Duration::minutes(15);

/// The longest back-off between two attempts of a step.
const MAX_BACKOFF: Duration = Duration::hours(24);

/// What the runtime should do next for a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Start `step` once the clock reaches `not_before` (and the sender grants a slot).
    Run {
        /// Index of the step in the play.
        step: u32,
        /// What it does.
        action: Action,
        /// The earliest time it may start.
        not_before: DateTime<Utc>,
    },
    /// Record `StepSkipped` for `step` once the clock reaches `at`, if this is still the answer.
    Skip {
        /// Index of the step in the play.
        step: u32,
        /// Why.
        reason: SkipReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// Nothing to do until an event arrives (an outcome, an acceptance); look again at `until`
    /// if given.
    Wait {
        /// When to look again, if anything but a new event could change the answer.
        until: Option<DateTime<Utc>>,
    },
    /// The outcome of `step` was lost: ask the provider whether it happened.
    Reconcile {
        /// Index of the step in the play.
        step: u32,
        /// What it did.
        action: Action,
    },
    /// Every step is resolved: record `SequenceCompleted` at `at`.
    Complete {
        /// When the last step was resolved.
        at: DateTime<Utc>,
    },
    /// The sequence stopped or completed: nothing will ever be due.
    Finished,
}

/// How long to wait before attempt `attempts + 1` after `attempts` retryable failures.
pub fn retry_backoff(attempts: u32) -> Duration {
    if attempts == 0 {
        return Duration::zero();
    }
    // 15 min << 7 already exceeds the cap; clamping the shift keeps the arithmetic in range.
    let doublings = (attempts - 1).min(7);
    (FIRST_BACKOFF * (1 << doublings)).min(MAX_BACKOFF)
}

/// What is due next for `seq` under `play` (see the module doc for the rules).
pub fn next_step(seq: &LeadSequence, play: &Play) -> NextStep {
    match seq.status() {
        SequenceStatus::Stopped { .. } | SequenceStatus::Completed => return NextStep::Finished,
        SequenceStatus::NotStarted => return NextStep::Wait { until: None },
        SequenceStatus::Active => {}
    }
    if let Some(p) = seq.pending() {
        return match p.state {
            PendingState::InFlight => NextStep::Wait { until: None },
            PendingState::OutcomeUnknown => NextStep::Reconcile {
                step: p.step,
                action: p.action,
            },
        };
    }
    let (Some(enrollment), Some(anchor)) = (seq.enrollment(), seq.anchor()) else {
        return NextStep::Wait { until: None };
    };
    let index = seq.next_step_index();
    let Some(step) = usize::try_from(index).ok().and_then(|i| play.steps.get(i)) else {
        return NextStep::Complete { at: anchor };
    };
    let ctx = StepContext {
        seq,
        step,
        index,
        anchor,
        due: anchor + step.delay.duration(),
        email_known: enrollment.email_known,
        has_mailbox: enrollment.mailbox_id.is_some(),
        connected: seq.is_connected(),
    };
    ctx.decide()
}

/// The facts one step's decision reads.
struct StepContext<'a> {
    seq: &'a LeadSequence,
    step: &'a PlayStep,
    index: u32,
    anchor: DateTime<Utc>,
    /// `anchor + delay`: when the step comes due before retries and out-of-office.
    due: DateTime<Utc>,
    email_known: bool,
    has_mailbox: bool,
    connected: bool,
}

impl StepContext<'_> {
    fn decide(&self) -> NextStep {
        if let Some(reason) = self.static_skip() {
            return self.skip(reason, self.due);
        }
        match self.step.condition {
            Condition::IfNotAcceptedWithin(days) => {
                if self.connected {
                    let at = self
                        .seq
                        .accepted_at()
                        .map_or(self.anchor, |a| a.max(self.anchor));
                    return self.skip(SkipReason::ConditionNotMet, at);
                }
                let window = Duration::days(i64::from(days));
                let since = self.seq.invite_sent_at().unwrap_or(self.anchor);
                self.run_unless_unconnected_message(self.due.max(since + window))
            }
            Condition::IfAccepted => match (self.connected, self.seq.invite_sent_at()) {
                (true, _) => {
                    let delay = self.step.delay.duration();
                    let after_acceptance = self.seq.accepted_at().map(|a| a + delay);
                    self.run(after_acceptance.map_or(self.due, |a| a.max(self.due)))
                }
                (false, None) => self.skip(SkipReason::ConditionNotMet, self.due),
                (false, Some(sent)) => self.skip(
                    SkipReason::ConditionNotMet,
                    self.due.max(sent + ACCEPTANCE_WINDOW),
                ),
            },
            Condition::Always | Condition::IfNoReply | Condition::IfEmailKnown => {
                self.run_unless_unconnected_message(self.due)
            }
        }
    }

    /// Skips decided by facts fixed at enrollment or by the channel itself.
    fn static_skip(&self) -> Option<SkipReason> {
        if self.step.condition == Condition::IfEmailKnown && !self.email_known {
            return Some(SkipReason::ConditionNotMet);
        }
        match self.step.action {
            Action::Email if !self.email_known => Some(SkipReason::EmailUnknown),
            Action::Email if !self.has_mailbox => Some(SkipReason::ConditionNotMet),
            Action::Invite if self.connected => Some(SkipReason::AlreadyConnected),
            Action::Invite if self.seq.invite_sent_at().is_some() => {
                Some(SkipReason::ConditionNotMet)
            }
            _ => None,
        }
    }

    fn run_unless_unconnected_message(&self, due: DateTime<Utc>) -> NextStep {
        if self.step.action == Action::Message && !self.connected {
            return self.skip(SkipReason::NotConnected, due);
        }
        self.run(due)
    }

    /// Runs the step at `due`, pushed back by a pending retry's back-off and by out-of-office.
    fn run(&self, due: DateTime<Utc>) -> NextStep {
        let mut not_before = due;
        if let Some(retry) = self.seq.retry() {
            not_before = not_before.max(retry.last_failed_at + retry_backoff(retry.attempts));
        }
        if let Some(back) = self.seq.ooo_until() {
            not_before = not_before.max(back);
        }
        NextStep::Run {
            step: self.index,
            action: self.step.action,
            not_before,
        }
    }

    fn skip(&self, reason: SkipReason, at: DateTime<Utc>) -> NextStep {
        NextStep::Skip {
            step: self.index,
            reason,
            at,
        }
    }
}
