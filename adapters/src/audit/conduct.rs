//! Invariant 2: every LinkedIn action of a sender starts inside its working hours (its time
//! zone, DST included) and never while it is paused (a timed pause ends at its `until`) or after
//! it was disconnected. Invariant 6: invite notes fit the sender's tier.

use chrono::{DateTime, Utc};
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::values::Tier;

use super::check::{AuditedEvent, Check, Decoded};
use super::senders::{SenderBook, SenderFacts};
use super::violation::{Rule, Violation};

/// Whether `at` is inside `facts`' working hours, on its local clock.
pub fn within_hours(facts: &SenderFacts, at: DateTime<Utc>) -> bool {
    facts
        .working_hours
        .contains(at.with_timezone(&facts.timezone).time())
}

/// Working hours and pauses (invariant 2).
#[derive(Default)]
pub struct ConductCheck;

impl Check for ConductCheck {
    fn observe(
        &mut self,
        event: &AuditedEvent<'_>,
        senders: &SenderBook,
        out: &mut Vec<Violation>,
    ) {
        let Decoded::Lead(LeadSequenceEvent::StepStarted {
            action,
            account_id,
            at,
            ..
        }) = event.decoded
        else {
            return;
        };
        if !action.is_linkedin() {
            return;
        }
        let (position, subject) = (event.stored.position, event.stored.aggregate_id.as_str());
        let Some((account, facts)) = account_id
            .as_ref()
            .and_then(|a| senders.get(a.as_str()).map(|f| (a, f)))
        else {
            out.push(Violation::in_log(
                Rule::UnknownSender,
                position,
                subject,
                format!(
                    "{action} started by {} which the log never connected",
                    account_id.as_ref().map_or("no sender", |a| a.as_str())
                ),
            ));
            return;
        };
        if !within_hours(facts, *at) {
            let local = at.with_timezone(&facts.timezone);
            out.push(Violation::in_log(
                Rule::OutsideWorkingHours,
                position,
                subject,
                format!(
                    "{action} by {account} at {} local ({}), outside {}–{}",
                    local.format("%Y-%m-%d %H:%M"),
                    facts.timezone,
                    facts.working_hours.start().format("%H:%M"),
                    facts.working_hours.end().format("%H:%M"),
                ),
            ));
        }
        if let Some(pause) = facts.pause.filter(|p| p.holds_at(*at)) {
            out.push(Violation::in_log(
                Rule::WhilePaused,
                position,
                subject,
                format!(
                    "{action} by {account} at {} while paused ({:?} since {})",
                    at.to_rfc3339(),
                    pause.reason,
                    pause.since.to_rfc3339()
                ),
            ));
        }
        if let Some(gone) = facts.disconnected_at.filter(|d| d <= at) {
            out.push(Violation::in_log(
                Rule::WhilePaused,
                position,
                subject,
                format!(
                    "{action} by {account} at {}, disconnected since {}",
                    at.to_rfc3339(),
                    gone.to_rfc3339()
                ),
            ));
        }
    }
}

/// Invite notes within 300 characters, 200 on free accounts (invariant 6).
#[derive(Default)]
pub struct NoteCheck;

impl Check for NoteCheck {
    fn observe(
        &mut self,
        event: &AuditedEvent<'_>,
        senders: &SenderBook,
        out: &mut Vec<Violation>,
    ) {
        let Decoded::Lead(LeadSequenceEvent::InviteSent {
            account_id,
            note: Some(note),
            ..
        }) = event.decoded
        else {
            return;
        };
        // A sender the log does not know is held to the longest limit of any tier.
        let tier = senders
            .get(account_id.as_str())
            .map_or(Tier::Premium, |f| f.tier);
        let len = note.chars().count();
        let max = tier.max_note_chars();
        if len > max {
            out.push(Violation::in_log(
                Rule::NoteTooLong,
                event.stored.position,
                &event.stored.aggregate_id,
                format!("invite note of {len} characters from a {tier:?} sender (limit {max})"),
            ));
        }
    }
}
