//! What the audit reports: which rule of DESIGN §5 a fact breaks, and where.

use serde::Serialize;
use std::fmt;

/// A rule the audit checks, each under one invariant of DESIGN §5 (0: the log itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// An event of a known aggregate whose payload is not one of its events.
    Unreadable,
    /// More invites on a local day than the sender's `daily_invites`.
    DailyInvites,
    /// More messages on a local day than the sender's `daily_messages`.
    DailyMessages,
    /// More invites in a rolling 7 × 24 h than the sender's `weekly_invites`.
    WeeklyInvites,
    /// A LinkedIn action started outside the sender's working hours.
    OutsideWorkingHours,
    /// A LinkedIn action started while the sender was paused or disconnected.
    WhilePaused,
    /// A LinkedIn action by a sender the log never connected.
    UnknownSender,
    /// A step started after the sequence got a reply or stopped.
    StepAfterStop,
    /// A reply not directly followed by the sequence's `SequenceStopped`.
    ReplyNotStopped,
    /// A message to a lead neither accepted nor 1st-degree at enrollment.
    MessageNotConnected,
    /// A second `InviteSent` in one sequence.
    SecondInvite,
    /// A step's side effect recorded twice in the log.
    SideEffectTwice,
    /// The provider performed one step's action more than once.
    LedgerDuplicate,
    /// The provider performed an action the log has no record of.
    LedgerUnrecorded,
    /// The log records a send the provider never received.
    NotInLedger,
    /// An invite note longer than the sender's tier allows.
    NoteTooLong,
    /// An inbound message the log records (reply, out-of-office answer, message from someone in
    /// no sequence) is not in its unified-inbox thread.
    ReplyNotInInbox,
    /// An inbound message shows more than once in the inbox (a duplicate delivery added a row).
    ReplyTwiceInInbox,
    /// The inbox shows an inbound message the log does not record.
    InboxUnrecorded,
    /// A thread's inbound or unread count disagrees with the messages the log gave it.
    InboxCounts,
    /// A view's live rows differ from the log folded again from position 0.
    ViewDiffers,
    /// The views cannot fold the log (an event they cannot read).
    ViewUnfoldable,
}

impl Rule {
    /// The invariant of DESIGN §5 the rule belongs to (0: the log is unreadable).
    pub fn invariant(self) -> u8 {
        use Rule::*;
        match self {
            Unreadable => 0,
            DailyInvites | DailyMessages | WeeklyInvites => 1,
            OutsideWorkingHours | WhilePaused | UnknownSender => 2,
            StepAfterStop | ReplyNotStopped => 3,
            MessageNotConnected => 4,
            SecondInvite | SideEffectTwice | LedgerDuplicate | LedgerUnrecorded | NotInLedger => 5,
            NoteTooLong => 6,
            ReplyNotInInbox | ReplyTwiceInInbox | InboxUnrecorded | InboxCounts => 7,
            ViewDiffers | ViewUnfoldable => 8,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The serde name: one spelling in text and JSON.
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&name)
    }
}

/// Where the broken fact was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The event log.
    Log,
    /// The sandbox provider's ledger.
    Ledger,
    /// The views' tables (the unified inbox, sender health, funnels).
    Views,
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The invariant of DESIGN §5.
    pub invariant: u8,
    /// The rule.
    pub rule: Rule,
    /// Log or ledger.
    pub source: Source,
    /// The event's position (log) or the entry's line (ledger), when one fact is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// The sequence or sender concerned.
    pub subject: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Violation {
    /// A violation found in the log at `position`.
    pub fn in_log(rule: Rule, position: u64, subject: &str, message: String) -> Self {
        Self {
            invariant: rule.invariant(),
            rule,
            source: Source::Log,
            position: Some(position),
            subject: subject.to_string(),
            message,
        }
    }

    /// A violation found in the views' tables, about the log's event at `position` when one is
    /// at fault.
    pub fn in_views(rule: Rule, position: Option<u64>, subject: &str, message: String) -> Self {
        Self {
            invariant: rule.invariant(),
            rule,
            source: Source::Views,
            position,
            subject: subject.to_string(),
            message,
        }
    }

    /// A violation found in the ledger at `line` (from 1).
    pub fn in_ledger(rule: Rule, line: Option<u64>, subject: &str, message: String) -> Self {
        Self {
            invariant: rule.invariant(),
            rule,
            source: Source::Ledger,
            position: line,
            subject: subject.to_string(),
            message,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match (self.source, self.position) {
            (Source::Log, Some(p)) => format!("log #{p}"),
            (Source::Ledger, Some(l)) => format!("ledger line {l}"),
            (Source::Log, None) => "log".into(),
            (Source::Ledger, None) => "ledger".into(),
            (Source::Views, Some(p)) => format!("views at #{p}"),
            (Source::Views, None) => "views".into(),
        };
        write!(
            f,
            "invariant {} [{}] {place} {}: {}",
            self.invariant, self.rule, self.subject, self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_print_as_their_json_names_under_their_invariant() {
        let v = Violation::in_log(Rule::WeeklyInvites, 42, "acc-1", "201 invites".into());
        assert_eq!(v.invariant, 1);
        assert_eq!(
            v.to_string(),
            "invariant 1 [weekly_invites] log #42 acc-1: 201 invites"
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["rule"], "weekly_invites");
        assert_eq!(json["source"], "log");
        assert_eq!(Rule::NoteTooLong.invariant(), 6);
        assert_eq!(Rule::LedgerDuplicate.invariant(), 5);
        assert_eq!(Rule::ReplyNotInInbox.invariant(), 7);
        assert_eq!(Rule::ViewDiffers.invariant(), 8);
        let v = Violation::in_views(Rule::ViewDiffers, None, "inbox_threads", "differs".into());
        assert_eq!(
            v.to_string(),
            "invariant 8 [view_differs] views inbox_threads: differs"
        );
    }
}
