//! The schedule over realistic event histories, and the linkedin-first play driven end to end
//! through the aggregate.

use chrono::{DateTime, Duration, Utc};

use super::support::*;
use crate::lead::{
    next_step, retry_backoff, LeadSequence, LeadSequenceCommand as C, LeadSequenceEvent as E,
    NextStep, SkipReason, StopReason, ACCEPTANCE_WINDOW,
};
use crate::play::{Condition, Delay, Play, PlayStep};
use crate::values::{Action, ConnectionDegree};

fn step(action: Action, delay: Delay, condition: Condition) -> PlayStep {
    PlayStep {
        action,
        template: Some("Hello {{first_name}}".into()),
        subject: (action == Action::Email).then(|| "Quick question".into()),
        delay,
        condition,
    }
}

fn play(steps: Vec<PlayStep>) -> Play {
    Play {
        name: "test".into(),
        description: String::new(),
        steps,
    }
}

/// Invite; email if not accepted within 7 days; message 1 day after acceptance.
fn linkedin_first() -> Play {
    play(vec![
        step(Action::Invite, Delay::minutes(0), Condition::Always),
        step(
            Action::Email,
            Delay::minutes(0),
            Condition::IfNotAcceptedWithin(7),
        ),
        step(Action::Message, Delay::days(1), Condition::IfAccepted),
    ])
}

fn next(events: &[E], play: &Play) -> NextStep {
    next_step(&LeadSequence::from_events(events), play)
}

fn after_secs(at: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    at + Duration::seconds(secs)
}

/// Runs `play` for an enrolled lead through the aggregate as the runtime would: every answer of
/// the schedule is carried out at its time, and the lead accepts at `accept_at` (if an invite is
/// out by then). Each side effect succeeds five seconds after its start.
fn drive(play: &Play, enrolled: E, accept_at: Option<DateTime<Utc>>) -> Vec<E> {
    let mut log = vec![enrolled];
    let mut now = t0();
    let mut pending_accept = accept_at;
    for _ in 0..20 {
        let seq = LeadSequence::from_events(&log);
        let answer = next_step(&seq, play);
        let when = match answer {
            NextStep::Run { not_before, .. } => not_before,
            NextStep::Skip { at, .. } => at,
            NextStep::Complete { at } => at,
            other => panic!("the driver cannot act on {other:?}"),
        }
        .max(now);
        if let Some(accept) =
            pending_accept.filter(|a| *a <= when && seq.invite_sent_at().is_some())
        {
            pending_accept = None;
            now = now.max(accept);
            log.extend(decide(&seq, C::RecordInviteAccepted { at: now }));
            continue;
        }
        now = when;
        match answer {
            NextStep::Run { step, action, .. } => {
                log.extend(decide(&seq, start_step_cmd(step, action, now)));
                let seq = LeadSequence::from_events(&log);
                log.extend(decide(
                    &seq,
                    record_sent_cmd(step, action, after_secs(now, 5)),
                ));
                now = after_secs(now, 5);
            }
            NextStep::Skip { step, reason, .. } => {
                log.extend(decide(
                    &seq,
                    C::SkipStep {
                        step,
                        reason,
                        at: now,
                    },
                ));
            }
            _ => {
                log.extend(decide(&seq, C::Complete { at: now }));
                return log;
            }
        }
    }
    panic!("the play did not complete: {log:#?}");
}

fn decide(seq: &LeadSequence, cmd: C) -> Vec<E> {
    match seq.decide(cmd.clone()) {
        Ok(events) => events,
        Err(e) => panic!("{cmd:?} refused: {e}"),
    }
}

// --- linkedin-first, end to end ------------------------------------------------------------

#[test]
fn linkedin_first_accepted_on_day_two_skips_the_email_and_messages_a_day_later() {
    let log = drive(&linkedin_first(), started(), Some(day(2, 0)));
    let mut expected = vec![started()];
    expected.extend(ran(0, Action::Invite, t0()));
    expected.push(accepted(day(2, 0)));
    expected.push(skipped(1, SkipReason::ConditionNotMet, day(2, 0)));
    expected.extend(ran(2, Action::Message, day(3, 0)));
    expected.push(completed(after_secs(day(3, 0), 5)));
    assert_eq!(log, expected);
}

#[test]
fn linkedin_first_accepted_on_day_ten_emails_on_day_seven_then_messages() {
    let log = drive(&linkedin_first(), started(), Some(day(10, 0)));
    let invite_sent = after_secs(t0(), 5);
    let email_at = invite_sent + Duration::days(7);
    let mut expected = vec![started()];
    expected.extend(ran(0, Action::Invite, t0()));
    expected.extend(ran(1, Action::Email, email_at));
    expected.push(accepted(day(10, 0)));
    expected.extend(ran(2, Action::Message, day(11, 0)));
    expected.push(completed(after_secs(day(11, 0), 5)));
    assert_eq!(log, expected);
}

#[test]
fn linkedin_first_never_accepted_gives_up_on_the_message_after_the_window() {
    let log = drive(&linkedin_first(), started(), None);
    let invite_sent = after_secs(t0(), 5);
    // The contract says 30 days; spelled out so that a changed constant shows here.
    assert_eq!(ACCEPTANCE_WINDOW, Duration::days(30));
    let give_up = after_secs(day(30, 0), 5);
    let mut expected = vec![started()];
    expected.extend(ran(0, Action::Invite, t0()));
    expected.extend(ran(1, Action::Email, invite_sent + Duration::days(7)));
    expected.push(skipped(2, SkipReason::ConditionNotMet, give_up));
    expected.push(completed(give_up));
    assert_eq!(log, expected);
    assert!(!log.iter().any(|e| matches!(e, E::MessageSent { .. })));
}

#[test]
fn linkedin_first_for_a_connection_skips_invite_and_email_and_messages() {
    let log = drive(
        &linkedin_first(),
        started_with(ConnectionDegree::First, true, true),
        None,
    );
    let mut expected = vec![started_with(ConnectionDegree::First, true, true)];
    expected.push(skipped(0, SkipReason::AlreadyConnected, t0()));
    expected.push(skipped(1, SkipReason::ConditionNotMet, t0()));
    expected.extend(ran(2, Action::Message, day(1, 0)));
    expected.push(completed(after_secs(day(1, 0), 5)));
    assert_eq!(log, expected);
}

#[test]
fn linkedin_first_while_waiting_plans_the_email_for_day_seven() {
    let mut h = vec![started()];
    h.extend(ran(0, Action::Invite, t0()));
    assert_eq!(
        next(&h, &linkedin_first()),
        NextStep::Run {
            step: 1,
            action: Action::Email,
            not_before: after_secs(day(7, 0), 5),
        }
    );
}

// --- Lifecycle -----------------------------------------------------------------------------

#[test]
fn a_sequence_not_started_waits() {
    assert_eq!(
        next_step(&LeadSequence::default(), &linkedin_first()),
        NextStep::Wait { until: None }
    );
}

#[test]
fn the_first_step_is_due_its_delay_after_enrollment() {
    let p = play(vec![step(
        Action::Email,
        Delay::hours(2),
        Condition::Always,
    )]);
    assert_eq!(
        next(&[started()], &p),
        NextStep::Run {
            step: 0,
            action: Action::Email,
            not_before: day(0, 2),
        }
    );
}

#[test]
fn a_step_in_flight_waits_for_its_outcome() {
    let h = [started(), step_started(0, Action::Invite, minute(1))];
    assert_eq!(next(&h, &linkedin_first()), NextStep::Wait { until: None });
}

#[test]
fn an_unknown_outcome_is_reconciled_first() {
    let h = [
        started(),
        step_started(0, Action::Invite, minute(1)),
        unknown(0, minute(2)),
    ];
    assert_eq!(
        next(&h, &linkedin_first()),
        NextStep::Reconcile {
            step: 0,
            action: Action::Invite,
        }
    );
}

#[test]
fn stopped_and_completed_sequences_are_finished() {
    let stopped_seq = [
        started(),
        reply("m-1", minute(1)),
        stopped(StopReason::Replied, minute(1)),
    ];
    assert_eq!(next(&stopped_seq, &linkedin_first()), NextStep::Finished);
    let done = [started(), completed(minute(1))];
    assert_eq!(next(&done, &linkedin_first()), NextStep::Finished);
}

#[test]
fn the_sequence_completes_at_the_last_resolution() {
    let p = play(vec![step(
        Action::Email,
        Delay::minutes(0),
        Condition::Always,
    )]);
    let mut h = vec![started()];
    h.extend(ran(0, Action::Email, day(0, 3)));
    assert_eq!(
        next(&h, &p),
        NextStep::Complete {
            at: after_secs(day(0, 3), 5),
        }
    );
    assert_eq!(
        next(&[started()], &play(vec![])),
        NextStep::Complete { at: t0() }
    );
}

#[test]
fn a_step_counts_its_delay_from_the_previous_resolution() {
    let p = play(vec![
        step(Action::Invite, Delay::minutes(0), Condition::Always),
        step(Action::Email, Delay::days(3), Condition::Always),
    ]);
    let h = [
        started(),
        step_started(0, Action::Invite, day(0, 1)),
        failed(0, false, day(0, 2)),
    ];
    assert_eq!(
        next(&h, &p),
        NextStep::Run {
            step: 1,
            action: Action::Email,
            not_before: day(3, 2),
        }
    );
}

// --- Retries and out-of-office -------------------------------------------------------------

#[test]
fn the_back_off_doubles_from_fifteen_minutes_up_to_a_day() {
    assert_eq!(retry_backoff(0), Duration::zero());
    assert_eq!(retry_backoff(1), Duration::minutes(15));
    assert_eq!(retry_backoff(2), Duration::minutes(30));
    assert_eq!(retry_backoff(3), Duration::hours(1));
    assert_eq!(retry_backoff(7), Duration::hours(16));
    assert_eq!(retry_backoff(8), Duration::hours(24));
    assert_eq!(retry_backoff(u32::MAX), Duration::hours(24));
}

#[test]
fn a_retryable_failure_runs_the_step_again_after_the_back_off() {
    let h = vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        failed(0, true, minute(2)),
    ];
    assert_eq!(
        next(&h, &linkedin_first()),
        NextStep::Run {
            step: 0,
            action: Action::Invite,
            not_before: minute(17),
        }
    );
    let mut more = h;
    more.extend([
        step_started(0, Action::Invite, minute(17)),
        failed(0, true, minute(18)),
        step_started(0, Action::Invite, minute(48)),
        failed(0, true, minute(49)),
    ]);
    assert_eq!(
        next(&more, &linkedin_first()),
        NextStep::Run {
            step: 0,
            action: Action::Invite,
            not_before: minute(49 + 60),
        }
    );
}

#[test]
fn out_of_office_defers_a_run_until_the_return_date() {
    let p = play(vec![step(Action::Email, Delay::days(1), Condition::Always)]);
    let h = [started(), ooo("m-1", Some(day(9, 0)), day(0, 1))];
    assert_eq!(
        next(&h, &p),
        NextStep::Run {
            step: 0,
            action: Action::Email,
            not_before: day(9, 0),
        }
    );
}

#[test]
fn a_past_return_date_or_none_does_not_defer() {
    let p = play(vec![step(Action::Email, Delay::days(3), Condition::Always)]);
    let h = [
        started(),
        ooo("m-1", Some(day(1, 0)), day(0, 1)),
        ooo("m-2", None, day(0, 2)),
    ];
    assert_eq!(
        next(&h, &p),
        NextStep::Run {
            step: 0,
            action: Action::Email,
            not_before: day(3, 0),
        }
    );
}

#[test]
fn out_of_office_does_not_hold_back_a_skip() {
    let p = play(vec![step(Action::Email, Delay::days(1), Condition::Always)]);
    let h = [
        started_with(ConnectionDegree::Second, false, true),
        ooo("m-1", Some(day(9, 0)), day(0, 1)),
    ];
    assert_eq!(
        next(&h, &p),
        NextStep::Skip {
            step: 0,
            reason: SkipReason::EmailUnknown,
            at: day(1, 0),
        }
    );
}

// --- Channels and conditions ---------------------------------------------------------------

#[test]
fn an_email_to_an_unknown_address_is_skipped_at_its_due_time() {
    let p = play(vec![
        step(Action::Email, Delay::days(1), Condition::Always),
        step(Action::Invite, Delay::days(2), Condition::Always),
    ]);
    let mut h = vec![started_with(ConnectionDegree::Second, false, true)];
    assert_eq!(
        next(&h, &p),
        NextStep::Skip {
            step: 0,
            reason: SkipReason::EmailUnknown,
            at: day(1, 0),
        }
    );
    // The skip keeps the timeline: the invite still comes three days in.
    h.push(skipped(0, SkipReason::EmailUnknown, day(1, 0)));
    assert_eq!(
        next(&h, &p),
        NextStep::Run {
            step: 1,
            action: Action::Invite,
            not_before: day(3, 0),
        }
    );
}

#[test]
fn if_email_known_with_no_email_is_a_condition_not_met() {
    let p = play(vec![step(
        Action::Email,
        Delay::minutes(0),
        Condition::IfEmailKnown,
    )]);
    assert_eq!(
        next(&[started_with(ConnectionDegree::Second, false, true)], &p),
        NextStep::Skip {
            step: 0,
            reason: SkipReason::ConditionNotMet,
            at: t0(),
        }
    );
    assert_eq!(
        next(&[started()], &p),
        NextStep::Run {
            step: 0,
            action: Action::Email,
            not_before: t0(),
        }
    );
}

#[test]
fn an_email_without_a_mailbox_is_skipped() {
    let p = play(vec![step(
        Action::Email,
        Delay::minutes(0),
        Condition::Always,
    )]);
    assert_eq!(
        next(&[started_with(ConnectionDegree::Second, true, false)], &p),
        NextStep::Skip {
            step: 0,
            reason: SkipReason::ConditionNotMet,
            at: t0(),
        }
    );
}

#[test]
fn an_invite_to_a_connection_is_skipped() {
    let p = play(vec![step(
        Action::Invite,
        Delay::minutes(0),
        Condition::Always,
    )]);
    assert_eq!(
        next(&[started_with(ConnectionDegree::First, true, true)], &p),
        NextStep::Skip {
            step: 0,
            reason: SkipReason::AlreadyConnected,
            at: t0(),
        }
    );
}

#[test]
fn a_second_invite_step_is_skipped() {
    let p = play(vec![
        step(Action::Invite, Delay::minutes(0), Condition::Always),
        step(Action::Invite, Delay::days(14), Condition::Always),
    ]);
    let mut h = vec![started()];
    h.extend(ran(0, Action::Invite, t0()));
    assert_eq!(
        next(&h, &p),
        NextStep::Skip {
            step: 1,
            reason: SkipReason::ConditionNotMet,
            at: after_secs(day(14, 0), 5),
        }
    );
}

#[test]
fn a_message_to_a_lead_not_connected_is_skipped_unless_accepted_by_then() {
    let p = play(vec![
        step(Action::Invite, Delay::minutes(0), Condition::Always),
        step(Action::Message, Delay::days(3), Condition::Always),
    ]);
    let mut h = vec![started()];
    h.extend(ran(0, Action::Invite, t0()));
    let due = after_secs(day(3, 0), 5);
    assert_eq!(
        next(&h, &p),
        NextStep::Skip {
            step: 1,
            reason: SkipReason::NotConnected,
            at: due,
        }
    );
    h.push(accepted(day(2, 0)));
    assert_eq!(
        next(&h, &p),
        NextStep::Run {
            step: 1,
            action: Action::Message,
            not_before: due,
        }
    );
}

#[test]
fn if_accepted_without_any_invite_is_skipped() {
    let p = play(vec![
        step(Action::Email, Delay::minutes(0), Condition::Always),
        step(Action::Message, Delay::days(1), Condition::IfAccepted),
    ]);
    let mut h = vec![started()];
    h.extend(ran(0, Action::Email, t0()));
    assert_eq!(
        next(&h, &p),
        NextStep::Skip {
            step: 1,
            reason: SkipReason::ConditionNotMet,
            at: after_secs(day(1, 0), 5),
        }
    );
}

#[test]
fn if_accepted_runs_at_once_for_a_connection() {
    let p = play(vec![step(
        Action::Message,
        Delay::hours(4),
        Condition::IfAccepted,
    )]);
    assert_eq!(
        next(&[started_with(ConnectionDegree::First, false, false)], &p),
        NextStep::Run {
            step: 0,
            action: Action::Message,
            not_before: day(0, 4),
        }
    );
}

#[test]
fn if_accepted_counts_its_delay_from_a_late_acceptance() {
    let p = play(vec![
        step(Action::Invite, Delay::minutes(0), Condition::Always),
        step(Action::Email, Delay::minutes(0), Condition::Always),
        step(Action::Message, Delay::days(1), Condition::IfAccepted),
    ]);
    let mut h = vec![started()];
    h.extend(ran(0, Action::Invite, t0()));
    h.extend(ran(1, Action::Email, day(0, 1)));
    h.push(accepted(day(20, 0)));
    assert_eq!(
        next(&h, &p),
        NextStep::Run {
            step: 2,
            action: Action::Message,
            not_before: day(21, 0),
        }
    );
}

#[test]
fn if_not_accepted_within_without_an_invite_counts_from_the_anchor() {
    let p = play(vec![step(
        Action::Email,
        Delay::days(1),
        Condition::IfNotAcceptedWithin(5),
    )]);
    assert_eq!(
        next(&[started()], &p),
        NextStep::Run {
            step: 0,
            action: Action::Email,
            not_before: day(5, 0),
        }
    );
}

#[test]
fn if_not_accepted_within_is_skipped_at_once_for_a_connection() {
    let p = play(vec![step(
        Action::Email,
        Delay::days(2),
        Condition::IfNotAcceptedWithin(7),
    )]);
    assert_eq!(
        next(&[started_with(ConnectionDegree::First, true, true)], &p),
        NextStep::Skip {
            step: 0,
            reason: SkipReason::ConditionNotMet,
            at: t0(),
        }
    );
}

#[test]
fn if_not_accepted_within_waits_out_back_off_and_out_of_office() {
    let mut h = vec![started()];
    h.extend(ran(0, Action::Invite, t0()));
    h.extend([
        step_started(1, Action::Email, after_secs(day(7, 0), 5)),
        failed(1, true, day(7, 1)),
        ooo("m-1", Some(day(7, 3)), day(7, 2)),
    ]);
    assert_eq!(
        next(&h, &linkedin_first()),
        NextStep::Run {
            step: 1,
            action: Action::Email,
            not_before: day(7, 3),
        }
    );
}
