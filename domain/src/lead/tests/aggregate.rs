//! The aggregate's rules, one TestFramework test each.

use chrono::Duration;
use cqrs_es::test::TestFramework;

use super::support::*;
use crate::lead::{
    LeadSequence, LeadSequenceCommand as C, LeadSequenceError as Err, LeadSequenceEvent as E,
    PendingState, PendingStep, Retry, SequenceStatus, SkipReason, StopReason,
};
use crate::values::{Action, ConnectionDegree};

type Fw = TestFramework<LeadSequence>;

fn given(events: Vec<E>) -> cqrs_es::test::AggregateTestExecutor<LeadSequence> {
    Fw::with(()).given(events)
}

fn history(parts: Vec<Vec<E>>) -> Vec<E> {
    parts.into_iter().flatten().collect()
}

// --- Start ---------------------------------------------------------------------------------

#[test]
fn start_enrolls_the_lead() {
    Fw::with(())
        .given_no_previous_events()
        .when(start_cmd())
        .then_expect_events(vec![started()]);
}

#[test]
fn start_twice_is_refused() {
    given(vec![started()])
        .when(start_cmd())
        .then_expect_error(Err::AlreadyStarted);
}

#[test]
fn start_after_a_stop_is_still_refused() {
    given(vec![started(), stopped(StopReason::Manual, day(1, 0))])
        .when(start_cmd())
        .then_expect_error(Err::AlreadyStarted);
}

#[test]
fn a_step_before_start_is_refused() {
    Fw::with(())
        .given_no_previous_events()
        .when(start_step_cmd(0, Action::Invite, t0()))
        .then_expect_error(Err::NotStarted);
}

#[test]
fn a_reply_before_start_is_refused() {
    Fw::with(())
        .given_no_previous_events()
        .when(reply_cmd("m-1", t0()))
        .then_expect_error(Err::NotStarted);
}

#[test]
fn stop_before_start_is_refused() {
    Fw::with(())
        .given_no_previous_events()
        .when(C::Stop {
            reason: StopReason::Manual,
            at: t0(),
        })
        .then_expect_error(Err::NotStarted);
}

// --- StartStep -----------------------------------------------------------------------------

#[test]
fn the_first_step_starts() {
    given(vec![started()])
        .when(start_step_cmd(0, Action::Invite, minute(1)))
        .then_expect_events(vec![step_started(0, Action::Invite, minute(1))]);
}

#[test]
fn no_step_starts_after_a_reply() {
    let h = history(vec![
        vec![started()],
        ran(0, Action::Invite, minute(1)),
        vec![
            reply("m-1", day(1, 0)),
            stopped(StopReason::Replied, day(1, 0)),
        ],
    ]);
    given(h)
        .when(start_step_cmd(1, Action::Email, day(7, 0)))
        .then_expect_error(Err::Stopped);
}

#[test]
fn no_step_starts_after_a_manual_stop() {
    given(vec![started(), stopped(StopReason::Manual, minute(1))])
        .when(start_step_cmd(0, Action::Invite, minute(2)))
        .then_expect_error(Err::Stopped);
}

#[test]
fn no_step_starts_after_completion() {
    let h = history(vec![
        vec![started()],
        ran(0, Action::Invite, minute(1)),
        vec![completed(minute(2))],
    ]);
    given(h)
        .when(start_step_cmd(1, Action::Email, minute(3)))
        .then_expect_error(Err::Completed);
}

#[test]
fn a_step_does_not_start_while_another_is_in_flight() {
    given(vec![started(), step_started(0, Action::Invite, minute(1))])
        .when(start_step_cmd(1, Action::Email, minute(2)))
        .then_expect_error(Err::StepInFlight(0));
}

#[test]
fn the_same_step_does_not_start_twice_while_in_flight() {
    given(vec![started(), step_started(0, Action::Invite, minute(1))])
        .when(start_step_cmd(0, Action::Invite, minute(2)))
        .then_expect_error(Err::StepInFlight(0));
}

#[test]
fn a_step_does_not_start_while_an_outcome_is_unknown() {
    given(vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        unknown(0, minute(2)),
    ])
    .when(start_step_cmd(0, Action::Invite, minute(30)))
    .then_expect_error(Err::OutcomeUnknown(0));
}

#[test]
fn a_step_cannot_jump_ahead() {
    given(vec![started()])
        .when(start_step_cmd(1, Action::Email, minute(1)))
        .then_expect_error(Err::StepOutOfOrder {
            expected: 0,
            got: 1,
        });
}

#[test]
fn a_sent_step_does_not_run_again() {
    let h = history(vec![vec![started()], ran(0, Action::Email, minute(1))]);
    given(h)
        .when(start_step_cmd(0, Action::Email, minute(5)))
        .then_expect_error(Err::StepOutOfOrder {
            expected: 1,
            got: 0,
        });
}

#[test]
fn a_retryably_failed_step_runs_again_at_the_same_index() {
    given(vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        failed(0, true, minute(2)),
    ])
    .when(start_step_cmd(0, Action::Invite, minute(20)))
    .then_expect_events(vec![step_started(0, Action::Invite, minute(20))]);
}

#[test]
fn a_step_failed_for_good_is_passed() {
    given(vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        failed(0, false, minute(2)),
    ])
    .when(start_step_cmd(0, Action::Invite, minute(20)))
    .then_expect_error(Err::StepOutOfOrder {
        expected: 1,
        got: 0,
    });
}

#[test]
fn a_second_invite_is_refused() {
    let h = history(vec![vec![started()], ran(0, Action::Invite, minute(1))]);
    given(h)
        .when(start_step_cmd(1, Action::Invite, day(3, 0)))
        .then_expect_error(Err::InviteAlreadySent);
}

#[test]
fn a_message_to_a_second_degree_lead_is_refused() {
    let h = history(vec![vec![started()], ran(0, Action::Invite, minute(1))]);
    given(h)
        .when(start_step_cmd(1, Action::Message, day(1, 0)))
        .then_expect_error(Err::NotFirstDegree);
}

#[test]
fn a_message_to_a_first_degree_lead_starts() {
    given(vec![started_with(ConnectionDegree::First, true, true)])
        .when(start_step_cmd(0, Action::Message, minute(1)))
        .then_expect_events(vec![step_started(0, Action::Message, minute(1))]);
}

#[test]
fn a_message_after_acceptance_starts() {
    let h = history(vec![
        vec![started()],
        ran(0, Action::Invite, minute(1)),
        vec![accepted(day(2, 0))],
    ]);
    given(h)
        .when(start_step_cmd(1, Action::Message, day(3, 0)))
        .then_expect_events(vec![step_started(1, Action::Message, day(3, 0))]);
}

#[test]
fn an_invite_needs_a_sender() {
    given(vec![started()])
        .when(C::StartStep {
            step: 0,
            action: Action::Invite,
            account_id: None,
            mailbox_id: Some("mbx-1".into()),
            at: minute(1),
        })
        .then_expect_error(Err::MissingChannelEndpoint(Action::Invite));
}

#[test]
fn a_message_needs_a_sender() {
    given(vec![started_with(ConnectionDegree::First, true, true)])
        .when(C::StartStep {
            step: 0,
            action: Action::Message,
            account_id: None,
            mailbox_id: None,
            at: minute(1),
        })
        .then_expect_error(Err::MissingChannelEndpoint(Action::Message));
}

#[test]
fn an_email_needs_a_mailbox() {
    given(vec![started()])
        .when(C::StartStep {
            step: 0,
            action: Action::Email,
            account_id: Some("acc-1".into()),
            mailbox_id: None,
            at: minute(1),
        })
        .then_expect_error(Err::MissingChannelEndpoint(Action::Email));
}

// --- Outcomes ------------------------------------------------------------------------------

#[test]
fn the_invite_in_flight_is_recorded_as_sent() {
    given(vec![started(), step_started(0, Action::Invite, minute(1))])
        .when(record_sent_cmd(0, Action::Invite, minute(2)))
        .then_expect_events(vec![sent(0, Action::Invite, minute(2))]);
}

#[test]
fn the_message_in_flight_is_recorded_as_sent() {
    given(vec![
        started_with(ConnectionDegree::First, true, true),
        step_started(0, Action::Message, minute(1)),
    ])
    .when(record_sent_cmd(0, Action::Message, minute(2)))
    .then_expect_events(vec![sent(0, Action::Message, minute(2))]);
}

#[test]
fn the_email_in_flight_is_recorded_as_sent() {
    given(vec![started(), step_started(0, Action::Email, minute(1))])
        .when(record_sent_cmd(0, Action::Email, minute(2)))
        .then_expect_events(vec![sent(0, Action::Email, minute(2))]);
}

#[test]
fn an_outcome_without_a_started_step_is_refused() {
    given(vec![started()])
        .when(record_sent_cmd(0, Action::Invite, minute(2)))
        .then_expect_error(Err::NoSuchStepInFlight(0));
}

#[test]
fn an_outcome_for_another_step_is_refused() {
    given(vec![started(), step_started(0, Action::Invite, minute(1))])
        .when(record_sent_cmd(1, Action::Invite, minute(2)))
        .then_expect_error(Err::NoSuchStepInFlight(1));
}

#[test]
fn an_outcome_of_another_action_is_refused() {
    given(vec![started(), step_started(0, Action::Invite, minute(1))])
        .when(record_sent_cmd(0, Action::Email, minute(2)))
        .then_expect_error(Err::WrongAction {
            step: 0,
            expected: Action::Invite,
            got: Action::Email,
        });
}

#[test]
fn an_outcome_is_recorded_twice_only_once() {
    let h = history(vec![vec![started()], ran(0, Action::Invite, minute(1))]);
    given(h)
        .when(record_sent_cmd(0, Action::Invite, minute(3)))
        .then_expect_error(Err::NoSuchStepInFlight(0));
}

#[test]
fn an_outcome_after_a_reply_is_still_recorded() {
    // The invite really left while the reply came in: the log must say so.
    given(vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        reply("m-1", minute(2)),
        stopped(StopReason::Replied, minute(2)),
    ])
    .when(record_sent_cmd(0, Action::Invite, minute(3)))
    .then_expect_events(vec![sent(0, Action::Invite, minute(3))]);
}

#[test]
fn a_reconciled_unknown_outcome_is_recorded_as_sent() {
    given(vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        unknown(0, minute(2)),
    ])
    .when(record_sent_cmd(0, Action::Invite, minute(30)))
    .then_expect_events(vec![sent(0, Action::Invite, minute(30))]);
}

#[test]
fn a_reconciled_unknown_outcome_must_match_the_action() {
    given(vec![
        started(),
        step_started(0, Action::Email, minute(1)),
        unknown(0, minute(2)),
    ])
    .when(record_sent_cmd(0, Action::Invite, minute(30)))
    .then_expect_error(Err::WrongAction {
        step: 0,
        expected: Action::Email,
        got: Action::Invite,
    });
}

#[test]
fn a_failure_of_the_step_in_flight_is_recorded() {
    given(vec![started(), step_started(0, Action::Invite, minute(1))])
        .when(C::RecordStepFailed {
            step: 0,
            retryable: false,
            reason: "provider_error".into(),
            at: minute(2),
        })
        .then_expect_events(vec![failed(0, false, minute(2))]);
}

#[test]
fn a_failure_without_a_started_step_is_refused() {
    given(vec![started()])
        .when(C::RecordStepFailed {
            step: 0,
            retryable: true,
            reason: "provider_error".into(),
            at: minute(2),
        })
        .then_expect_error(Err::NoSuchStepInFlight(0));
}

#[test]
fn reconciliation_finding_nothing_unblocks_the_same_step() {
    let h = vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        unknown(0, minute(2)),
    ];
    given(h.clone())
        .when(C::RecordStepFailed {
            step: 0,
            retryable: true,
            reason: "not_found_on_reconcile".into(),
            at: minute(10),
        })
        .then_expect_events(vec![E::StepFailed {
            step: 0,
            retryable: true,
            reason: "not_found_on_reconcile".into(),
            at: minute(10),
        }]);
    given(h)
        .and(vec![failed(0, true, minute(10))])
        .when(start_step_cmd(0, Action::Invite, minute(30)))
        .then_expect_events(vec![step_started(0, Action::Invite, minute(30))]);
}

#[test]
fn a_lost_result_is_recorded_as_unknown() {
    given(vec![started(), step_started(0, Action::Invite, minute(1))])
        .when(C::RecordOutcomeUnknown {
            step: 0,
            at: minute(2),
        })
        .then_expect_events(vec![unknown(0, minute(2))]);
}

#[test]
fn unknown_needs_a_step_in_flight() {
    given(vec![started()])
        .when(C::RecordOutcomeUnknown {
            step: 0,
            at: minute(2),
        })
        .then_expect_error(Err::NoSuchStepInFlight(0));
}

#[test]
fn unknown_recorded_again_changes_nothing() {
    given(vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        unknown(0, minute(2)),
    ])
    .when(C::RecordOutcomeUnknown {
        step: 0,
        at: minute(3),
    })
    .then_expect_events(vec![]);
}

// --- SkipStep ------------------------------------------------------------------------------

#[test]
fn the_next_step_is_skipped() {
    given(vec![started()])
        .when(C::SkipStep {
            step: 0,
            reason: SkipReason::AlreadyConnected,
            at: minute(1),
        })
        .then_expect_events(vec![skipped(0, SkipReason::AlreadyConnected, minute(1))]);
}

#[test]
fn a_step_in_flight_is_not_skipped() {
    given(vec![started(), step_started(0, Action::Invite, minute(1))])
        .when(C::SkipStep {
            step: 0,
            reason: SkipReason::CannotInviteYet,
            at: minute(2),
        })
        .then_expect_error(Err::StepInFlight(0));
}

#[test]
fn a_step_with_an_unknown_outcome_is_not_skipped() {
    given(vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        unknown(0, minute(2)),
    ])
    .when(C::SkipStep {
        step: 0,
        reason: SkipReason::CannotInviteYet,
        at: minute(3),
    })
    .then_expect_error(Err::OutcomeUnknown(0));
}

#[test]
fn only_the_next_step_is_skipped() {
    given(vec![started()])
        .when(C::SkipStep {
            step: 2,
            reason: SkipReason::ConditionNotMet,
            at: minute(1),
        })
        .then_expect_error(Err::StepOutOfOrder {
            expected: 0,
            got: 2,
        });
}

#[test]
fn nothing_is_skipped_after_a_stop() {
    given(vec![started(), stopped(StopReason::OptedOut, minute(1))])
        .when(C::SkipStep {
            step: 0,
            reason: SkipReason::ConditionNotMet,
            at: minute(2),
        })
        .then_expect_error(Err::Stopped);
}

#[test]
fn a_skipped_step_is_passed() {
    given(vec![
        started(),
        skipped(0, SkipReason::AlreadyConnected, minute(1)),
    ])
    .when(start_step_cmd(1, Action::Email, minute(2)))
    .then_expect_events(vec![step_started(1, Action::Email, minute(2))]);
}

// --- Acceptance ----------------------------------------------------------------------------

#[test]
fn an_acceptance_is_recorded() {
    let h = history(vec![vec![started()], ran(0, Action::Invite, minute(1))]);
    given(h)
        .when(C::RecordInviteAccepted { at: day(2, 0) })
        .then_expect_events(vec![accepted(day(2, 0))]);
}

#[test]
fn a_second_acceptance_changes_nothing() {
    let h = history(vec![
        vec![started()],
        ran(0, Action::Invite, minute(1)),
        vec![accepted(day(2, 0))],
    ]);
    given(h)
        .when(C::RecordInviteAccepted { at: day(2, 6) })
        .then_expect_events(vec![]);
}

#[test]
fn an_acceptance_is_recorded_on_a_stopped_sequence() {
    let h = history(vec![
        vec![started()],
        ran(0, Action::Invite, minute(1)),
        vec![stopped(StopReason::Manual, day(1, 0))],
    ]);
    given(h)
        .when(C::RecordInviteAccepted { at: day(2, 0) })
        .then_expect_events(vec![accepted(day(2, 0))]);
}

// --- Replies and out-of-office -------------------------------------------------------------

#[test]
fn a_reply_stops_the_sequence_in_the_same_command() {
    let h = history(vec![vec![started()], ran(0, Action::Invite, minute(1))]);
    given(h)
        .when(reply_cmd("m-1", day(1, 0)))
        .then_expect_events(vec![
            reply("m-1", day(1, 0)),
            stopped(StopReason::Replied, day(1, 0)),
        ]);
}

#[test]
fn a_duplicate_reply_changes_nothing() {
    given(vec![
        started(),
        reply("m-1", day(1, 0)),
        stopped(StopReason::Replied, day(1, 0)),
    ])
    .when(reply_cmd("m-1", day(1, 1)))
    .then_expect_events(vec![]);
}

#[test]
fn a_new_reply_on_a_stopped_sequence_is_followed_by_a_stop() {
    given(vec![
        started(),
        reply("m-1", day(1, 0)),
        stopped(StopReason::Replied, day(1, 0)),
    ])
    .when(reply_cmd("m-2", day(2, 0)))
    .then_expect_events(vec![
        reply("m-2", day(2, 0)),
        stopped(StopReason::Replied, day(2, 0)),
    ]);
}

#[test]
fn a_reply_on_a_completed_sequence_is_followed_by_a_stop() {
    let h = history(vec![
        vec![started()],
        ran(0, Action::Email, minute(1)),
        vec![completed(minute(2))],
    ]);
    given(h)
        .when(reply_cmd("m-1", day(3, 0)))
        .then_expect_events(vec![
            reply("m-1", day(3, 0)),
            stopped(StopReason::Replied, day(3, 0)),
        ]);
}

#[test]
fn a_reply_reusing_an_out_of_office_id_changes_nothing() {
    given(vec![started(), ooo("m-1", Some(day(7, 0)), day(1, 0))])
        .when(reply_cmd("m-1", day(1, 1)))
        .then_expect_events(vec![]);
}

#[test]
fn an_out_of_office_is_recorded_and_does_not_stop() {
    given(vec![started()])
        .when(ooo_cmd("m-1", Some(day(7, 0)), day(1, 0)))
        .then_expect_events(vec![ooo("m-1", Some(day(7, 0)), day(1, 0))]);
    given(vec![started(), ooo("m-1", Some(day(7, 0)), day(1, 0))])
        .when(start_step_cmd(0, Action::Invite, day(7, 1)))
        .then_expect_events(vec![step_started(0, Action::Invite, day(7, 1))]);
}

#[test]
fn a_duplicate_out_of_office_changes_nothing() {
    given(vec![started(), ooo("m-1", None, day(1, 0))])
        .when(ooo_cmd("m-1", None, day(1, 2)))
        .then_expect_events(vec![]);
}

// --- Stop and Complete ---------------------------------------------------------------------

#[test]
fn stop_stops() {
    given(vec![started()])
        .when(C::Stop {
            reason: StopReason::OptedOut,
            at: minute(5),
        })
        .then_expect_events(vec![stopped(StopReason::OptedOut, minute(5))]);
}

#[test]
fn stopping_a_stopped_sequence_changes_nothing() {
    given(vec![started(), stopped(StopReason::Manual, minute(5))])
        .when(C::Stop {
            reason: StopReason::OptedOut,
            at: minute(6),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_completed_sequence_cannot_be_stopped() {
    given(vec![started(), completed(minute(5))])
        .when(C::Stop {
            reason: StopReason::Manual,
            at: minute(6),
        })
        .then_expect_error(Err::Completed);
}

#[test]
fn complete_completes() {
    let h = history(vec![vec![started()], ran(0, Action::Email, minute(1))]);
    given(h)
        .when(C::Complete { at: minute(2) })
        .then_expect_events(vec![completed(minute(2))]);
}

#[test]
fn complete_waits_for_the_step_in_flight() {
    given(vec![started(), step_started(0, Action::Email, minute(1))])
        .when(C::Complete { at: minute(2) })
        .then_expect_error(Err::StepInFlight(0));
}

#[test]
fn complete_waits_for_reconciliation() {
    given(vec![
        started(),
        step_started(0, Action::Email, minute(1)),
        unknown(0, minute(2)),
    ])
    .when(C::Complete { at: minute(3) })
    .then_expect_error(Err::OutcomeUnknown(0));
}

#[test]
fn a_stopped_sequence_does_not_complete() {
    given(vec![started(), stopped(StopReason::Manual, minute(1))])
        .when(C::Complete { at: minute(2) })
        .then_expect_error(Err::Stopped);
}

#[test]
fn a_sequence_completes_once() {
    given(vec![started(), completed(minute(1))])
        .when(C::Complete { at: minute(2) })
        .then_expect_error(Err::Completed);
}

// --- The fold and the getters --------------------------------------------------------------

#[test]
fn the_fold_tracks_what_the_schedule_needs() {
    let h = history(vec![
        vec![started()],
        ran(0, Action::Invite, minute(1)),
        vec![
            step_started(1, Action::Email, day(7, 0)),
            failed(1, true, day(7, 1)),
            step_started(1, Action::Email, day(7, 2)),
            failed(1, true, day(7, 3)),
            accepted(day(8, 0)),
            ooo("m-1", Some(day(14, 0)), day(8, 1)),
            ooo("m-2", Some(day(12, 0)), day(8, 2)),
            step_started(1, Action::Email, day(8, 3)),
        ],
    ]);
    let seq = LeadSequence::from_events(&h);
    assert_eq!(seq.status(), SequenceStatus::Active);
    assert_eq!(seq.account_id().map(|a| a.as_str()), Some("acc-1"));
    assert_eq!(seq.mailbox_id().map(|m| m.as_str()), Some("mbx-1"));
    assert_eq!(seq.play(), Some("linkedin-first"));
    assert_eq!(seq.next_step_index(), 1);
    assert_eq!(
        seq.step_in_flight(),
        Some(PendingStep {
            step: 1,
            action: Action::Email,
            since: day(8, 3),
            state: PendingState::InFlight,
        })
    );
    assert_eq!(seq.unknown_outcome(), None);
    assert_eq!(
        seq.retry(),
        Some(Retry {
            attempts: 2,
            last_failed_at: day(7, 3),
        })
    );
    assert_eq!(seq.anchor(), Some(minute(1) + Duration::seconds(5)));
    assert_eq!(seq.invite_sent_at(), Some(minute(1) + Duration::seconds(5)));
    assert_eq!(seq.accepted_at(), Some(day(8, 0)));
    assert!(seq.is_connected());
    // The later of two announced return dates wins, whatever their order of arrival.
    assert_eq!(seq.ooo_until(), Some(day(14, 0)));
    assert!(seq.has_seen(&"m-2".into()));
    assert!(!seq.has_seen(&"m-3".into()));
}

#[test]
fn resolving_a_step_resets_its_retries_and_moves_the_anchor() {
    let seq = LeadSequence::from_events(vec![
        started(),
        step_started(0, Action::Invite, minute(1)),
        failed(0, true, minute(2)),
        step_started(0, Action::Invite, minute(20)),
        failed(0, false, minute(21)),
    ]);
    assert_eq!(seq.next_step_index(), 1);
    assert_eq!(seq.retry(), None);
    assert_eq!(seq.anchor(), Some(minute(21)));
    assert_eq!(seq.invite_sent_at(), None);
    assert!(!seq.is_connected());
}

#[test]
fn a_reply_after_completion_leaves_the_status_stopped_by_the_reply() {
    let seq = LeadSequence::from_events(vec![
        started(),
        completed(minute(1)),
        reply("m-1", day(2, 0)),
        stopped(StopReason::Replied, day(2, 0)),
    ]);
    assert_eq!(
        seq.status(),
        SequenceStatus::Stopped {
            reason: StopReason::Replied
        }
    );
    assert!(!seq.is_active());
}

#[test]
fn the_state_stays_small() {
    // 100,000 sequences live in memory: the inline state must stay well under 1 KiB (the ids
    // add a few short heap strings on top).
    let size = std::mem::size_of::<LeadSequence>();
    assert!(size <= 320, "LeadSequence is {size} bytes");
}
