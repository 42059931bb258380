//! Rules of the `SenderAccount` aggregate, given/when/then, and the shape of its events.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use serde_json::json;

use super::*;
use crate::values::{Limits, LimitsError, Tier, WorkingHours};

type Framework = TestFramework<SenderAccount>;

fn framework() -> Framework {
    Framework::with(())
}

/// 2026-03-02 (a Monday) at `h:m` UTC.
fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
}

fn limits() -> Limits {
    Limits {
        daily_invites: 20,
        daily_messages: 100,
        weekly_invites: 100,
    }
}

fn too_many_invites() -> Limits {
    Limits {
        daily_invites: 5_000,
        ..limits()
    }
}

fn connect_command() -> SenderAccountCommand {
    connect_command_with(limits())
}

fn connect_command_with(limits: Limits) -> SenderAccountCommand {
    SenderAccountCommand::Connect {
        workspace_id: "ws-1".into(),
        account_id: "acc-1".into(),
        provider_account_id: "prov-1".into(),
        owner: "owner-1".into(),
        tier: Tier::Free,
        limits,
        timezone: chrono_tz::Europe::Paris,
        working_hours: WorkingHours::default(),
        warm_up: true,
        at: t(9, 0),
    }
}

fn connected() -> SenderAccountEvent {
    SenderAccountEvent::AccountConnected {
        workspace_id: "ws-1".into(),
        account_id: "acc-1".into(),
        provider_account_id: "prov-1".into(),
        owner: "owner-1".into(),
        tier: Tier::Free,
        limits: limits(),
        timezone: chrono_tz::Europe::Paris,
        working_hours: WorkingHours::default(),
        warm_up: true,
        at: t(9, 0),
    }
}

fn warning(kind: WarningKind, at: DateTime<Utc>) -> SenderAccountEvent {
    SenderAccountEvent::WarningReceived {
        kind,
        detail: None,
        at,
    }
}

fn paused(
    reason: PauseReason,
    until: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> SenderAccountEvent {
    SenderAccountEvent::SendingPaused { reason, until, at }
}

fn record_warning(kind: WarningKind, at: DateTime<Utc>) -> SenderAccountCommand {
    SenderAccountCommand::RecordWarning {
        kind,
        detail: None,
        at,
    }
}

fn pause(
    reason: PauseReason,
    until: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> SenderAccountCommand {
    SenderAccountCommand::Pause { reason, until, at }
}

/// Every command but `Connect`, at `at`.
fn commands_after_connect(at: DateTime<Utc>) -> Vec<SenderAccountCommand> {
    vec![
        SenderAccountCommand::ChangeLimits {
            limits: limits(),
            at,
        },
        record_warning(WarningKind::RateLimited, at),
        pause(PauseReason::User, None, at),
        SenderAccountCommand::Resume { at },
        SenderAccountCommand::ResumeAfterCooldown { at },
        SenderAccountCommand::Reconnect { at },
        SenderAccountCommand::Disconnect { at },
    ]
}

// ---- Connect -------------------------------------------------------------------------------

#[test]
fn connect_on_a_fresh_account_records_account_connected() {
    framework()
        .given_no_previous_events()
        .when(connect_command())
        .then_expect_events(vec![connected()]);
}

#[test]
fn connect_with_limits_above_the_ceiling_is_refused() {
    framework()
        .given_no_previous_events()
        .when(connect_command_with(too_many_invites()))
        .then_expect_error(SenderAccountError::InvalidLimits(
            LimitsError::AboveCeiling {
                field: "daily_invites",
                value: 5_000,
                ceiling: Limits::MAX_DAILY_INVITES,
            },
        ));
}

#[test]
fn connect_twice_is_refused() {
    framework()
        .given(vec![connected()])
        .when(connect_command())
        .then_expect_error(SenderAccountError::AlreadyConnected);
}

#[test]
fn every_other_command_before_connect_is_refused_as_not_connected() {
    for command in commands_after_connect(t(10, 0)) {
        framework()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(SenderAccountError::NotConnected);
    }
}

#[test]
fn every_command_after_disconnect_is_refused_as_disconnected() {
    let mut commands = commands_after_connect(t(11, 0));
    commands.push(connect_command());
    for command in commands {
        framework()
            .given(vec![
                connected(),
                paused(PauseReason::User, None, t(9, 30)),
                SenderAccountEvent::AccountDisconnected { at: t(10, 0) },
            ])
            .when(command)
            .then_expect_error(SenderAccountError::Disconnected);
    }
}

// ---- ChangeLimits --------------------------------------------------------------------------

#[test]
fn change_limits_records_limits_changed() {
    let new = Limits {
        daily_invites: 10,
        daily_messages: 50,
        weekly_invites: 60,
    };
    framework()
        .given(vec![connected()])
        .when(SenderAccountCommand::ChangeLimits {
            limits: new,
            at: t(10, 0),
        })
        .then_expect_events(vec![SenderAccountEvent::LimitsChanged {
            limits: new,
            at: t(10, 0),
        }]);
}

#[test]
fn change_limits_above_the_ceiling_is_refused() {
    let absurd = Limits {
        weekly_invites: 50_000,
        ..limits()
    };
    framework()
        .given(vec![connected()])
        .when(SenderAccountCommand::ChangeLimits {
            limits: absurd,
            at: t(10, 0),
        })
        .then_expect_error(SenderAccountError::InvalidLimits(
            LimitsError::AboveCeiling {
                field: "weekly_invites",
                value: 50_000,
                ceiling: Limits::MAX_WEEKLY_INVITES,
            },
        ));
}

// ---- RecordWarning: the pause each kind calls for ------------------------------------------

#[test]
fn rate_limited_pauses_for_five_hours() {
    framework()
        .given(vec![connected()])
        .when(record_warning(WarningKind::RateLimited, t(10, 0)))
        .then_expect_events(vec![
            warning(WarningKind::RateLimited, t(10, 0)),
            paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        ]);
}

#[test]
fn temporary_provider_limit_pauses_for_a_day() {
    let next_day = Utc.with_ymd_and_hms(2026, 3, 3, 10, 0, 0).unwrap();
    framework()
        .given(vec![connected()])
        .when(record_warning(
            WarningKind::TemporaryProviderLimit,
            t(10, 0),
        ))
        .then_expect_events(vec![
            warning(WarningKind::TemporaryProviderLimit, t(10, 0)),
            paused(
                PauseReason::TemporaryProviderLimit,
                Some(next_day),
                t(10, 0),
            ),
        ]);
}

#[test]
fn usage_near_cap_pauses_as_approaching_limit_for_twelve_hours() {
    framework()
        .given(vec![connected()])
        .when(record_warning(WarningKind::UsageNearCap, t(10, 0)))
        .then_expect_events(vec![
            warning(WarningKind::UsageNearCap, t(10, 0)),
            paused(PauseReason::ApproachingLimit, Some(t(22, 0)), t(10, 0)),
        ]);
}

#[test]
fn failure_streak_pauses_for_an_hour() {
    framework()
        .given(vec![connected()])
        .when(record_warning(WarningKind::FailureStreak, t(10, 0)))
        .then_expect_events(vec![
            warning(WarningKind::FailureStreak, t(10, 0)),
            paused(PauseReason::FailureStreak, Some(t(11, 0)), t(10, 0)),
        ]);
}

#[test]
fn restricted_pauses_until_the_user_resumes() {
    framework()
        .given(vec![connected()])
        .when(record_warning(WarningKind::Restricted, t(10, 0)))
        .then_expect_events(vec![
            warning(WarningKind::Restricted, t(10, 0)),
            paused(PauseReason::Restricted, None, t(10, 0)),
        ]);
}

#[test]
fn session_expired_pauses_until_the_user_reconnects() {
    framework()
        .given(vec![connected()])
        .when(record_warning(WarningKind::SessionExpired, t(10, 0)))
        .then_expect_events(vec![
            warning(WarningKind::SessionExpired, t(10, 0)),
            paused(PauseReason::SessionExpired, None, t(10, 0)),
        ]);
}

#[test]
fn the_warning_keeps_the_providers_words() {
    framework()
        .given(vec![connected()])
        .when(SenderAccountCommand::RecordWarning {
            kind: WarningKind::RateLimited,
            detail: Some("too_many_requests".into()),
            at: t(10, 0),
        })
        .then_expect_events(vec![
            SenderAccountEvent::WarningReceived {
                kind: WarningKind::RateLimited,
                detail: Some("too_many_requests".into()),
                at: t(10, 0),
            },
            paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        ]);
}

// ---- A pause never gets weaker -------------------------------------------------------------

#[test]
fn a_timed_warning_on_a_pause_without_end_only_records_the_warning() {
    for reason in [
        PauseReason::User,
        PauseReason::Restricted,
        PauseReason::SessionExpired,
    ] {
        framework()
            .given(vec![connected(), paused(reason, None, t(9, 30))])
            .when(record_warning(WarningKind::RateLimited, t(10, 0)))
            .then_expect_events(vec![warning(WarningKind::RateLimited, t(10, 0))]);
    }
}

#[test]
fn a_timed_warning_that_ends_later_replaces_the_pause() {
    framework()
        .given(vec![
            connected(),
            warning(WarningKind::FailureStreak, t(9, 30)),
            paused(PauseReason::FailureStreak, Some(t(10, 30)), t(9, 30)),
        ])
        .when(record_warning(WarningKind::RateLimited, t(10, 0)))
        .then_expect_events(vec![
            warning(WarningKind::RateLimited, t(10, 0)),
            paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        ]);
}

#[test]
fn a_timed_warning_that_ends_earlier_only_records_the_warning() {
    framework()
        .given(vec![
            connected(),
            warning(WarningKind::RateLimited, t(9, 0)),
            paused(PauseReason::RateLimited, Some(t(14, 0)), t(9, 0)),
        ])
        .when(record_warning(WarningKind::FailureStreak, t(10, 0)))
        .then_expect_events(vec![warning(WarningKind::FailureStreak, t(10, 0))]);
}

#[test]
fn a_timed_warning_that_ends_at_the_same_time_only_records_the_warning() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        ])
        .when(record_warning(WarningKind::RateLimited, t(10, 0)))
        .then_expect_events(vec![warning(WarningKind::RateLimited, t(10, 0))]);
}

#[test]
fn a_restriction_replaces_a_timed_pause() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        ])
        .when(record_warning(WarningKind::Restricted, t(11, 0)))
        .then_expect_events(vec![
            warning(WarningKind::Restricted, t(11, 0)),
            paused(PauseReason::Restricted, None, t(11, 0)),
        ]);
}

#[test]
fn a_restriction_replaces_a_user_pause_but_not_a_restriction() {
    framework()
        .given(vec![connected(), paused(PauseReason::User, None, t(9, 30))])
        .when(record_warning(WarningKind::Restricted, t(10, 0)))
        .then_expect_events(vec![
            warning(WarningKind::Restricted, t(10, 0)),
            paused(PauseReason::Restricted, None, t(10, 0)),
        ]);
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::Restricted, None, t(9, 30)),
        ])
        .when(record_warning(WarningKind::Restricted, t(10, 0)))
        .then_expect_events(vec![warning(WarningKind::Restricted, t(10, 0))]);
}

#[test]
fn a_restriction_does_not_hide_an_expired_session() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::SessionExpired, None, t(9, 30)),
        ])
        .when(record_warning(WarningKind::Restricted, t(10, 0)))
        .then_expect_events(vec![warning(WarningKind::Restricted, t(10, 0))]);
}

#[test]
fn session_expired_replaces_any_other_pause() {
    for current in [
        paused(PauseReason::User, None, t(9, 30)),
        paused(PauseReason::Restricted, None, t(9, 30)),
        paused(PauseReason::RateLimited, Some(t(14, 30)), t(9, 30)),
    ] {
        framework()
            .given(vec![connected(), current])
            .when(record_warning(WarningKind::SessionExpired, t(10, 0)))
            .then_expect_events(vec![
                warning(WarningKind::SessionExpired, t(10, 0)),
                paused(PauseReason::SessionExpired, None, t(10, 0)),
            ]);
    }
}

#[test]
fn session_expired_twice_only_records_the_warning() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::SessionExpired, None, t(9, 30)),
        ])
        .when(record_warning(WarningKind::SessionExpired, t(10, 0)))
        .then_expect_events(vec![warning(WarningKind::SessionExpired, t(10, 0))]);
}

// ---- Pause ---------------------------------------------------------------------------------

#[test]
fn pause_records_sending_paused() {
    framework()
        .given(vec![connected()])
        .when(pause(PauseReason::User, None, t(10, 0)))
        .then_expect_events(vec![paused(PauseReason::User, None, t(10, 0))]);
}

#[test]
fn pausing_a_user_paused_account_again_records_nothing() {
    framework()
        .given(vec![connected(), paused(PauseReason::User, None, t(9, 30))])
        .when(pause(PauseReason::User, None, t(10, 0)))
        .then_expect_events(vec![]);
}

#[test]
fn a_user_pause_replaces_a_timed_pause() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        ])
        .when(pause(PauseReason::User, None, t(11, 0)))
        .then_expect_events(vec![paused(PauseReason::User, None, t(11, 0))]);
}

#[test]
fn a_pause_never_gets_weaker_through_the_pause_command() {
    // A shorter timed pause over a longer one.
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        ])
        .when(pause(PauseReason::FailureStreak, Some(t(12, 0)), t(11, 0)))
        .then_expect_events(vec![]);
    // A user pause over a restriction or an expired session.
    for reason in [PauseReason::Restricted, PauseReason::SessionExpired] {
        framework()
            .given(vec![connected(), paused(reason, None, t(9, 30))])
            .when(pause(PauseReason::User, None, t(10, 0)))
            .then_expect_events(vec![]);
    }
}

#[test]
fn a_longer_timed_pause_replaces_a_shorter_one() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::FailureStreak, Some(t(11, 0)), t(10, 0)),
        ])
        .when(pause(PauseReason::User, Some(t(18, 0)), t(10, 30)))
        .then_expect_events(vec![paused(PauseReason::User, Some(t(18, 0)), t(10, 30))]);
}

// ---- Resume --------------------------------------------------------------------------------

#[test]
fn resume_on_a_paused_account_records_sending_resumed() {
    for current in [
        paused(PauseReason::User, None, t(9, 30)),
        paused(PauseReason::Restricted, None, t(9, 30)),
        paused(PauseReason::RateLimited, Some(t(14, 30)), t(9, 30)),
    ] {
        framework()
            .given(vec![connected(), current])
            .when(SenderAccountCommand::Resume { at: t(10, 0) })
            .then_expect_events(vec![SenderAccountEvent::SendingResumed { at: t(10, 0) }]);
    }
}

#[test]
fn resume_on_an_account_that_is_not_paused_is_refused() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::User, None, t(9, 30)),
            SenderAccountEvent::SendingResumed { at: t(9, 45) },
        ])
        .when(SenderAccountCommand::Resume { at: t(10, 0) })
        .then_expect_error(SenderAccountError::NotPaused);
}

#[test]
fn resume_on_an_expired_session_asks_for_a_reconnect() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::SessionExpired, None, t(9, 30)),
        ])
        .when(SenderAccountCommand::Resume { at: t(10, 0) })
        .then_expect_error(SenderAccountError::NeedsReconnect);
}

// ---- ResumeAfterCooldown -------------------------------------------------------------------

#[test]
fn resume_after_cooldown_once_the_pause_has_ended() {
    for at in [t(15, 0), t(16, 0)] {
        framework()
            .given(vec![
                connected(),
                paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
            ])
            .when(SenderAccountCommand::ResumeAfterCooldown { at })
            .then_expect_events(vec![SenderAccountEvent::SendingResumed { at }]);
    }
}

#[test]
fn resume_after_cooldown_before_the_end_is_refused() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        ])
        .when(SenderAccountCommand::ResumeAfterCooldown { at: t(14, 59) })
        .then_expect_error(SenderAccountError::CooldownNotOver);
}

#[test]
fn resume_after_cooldown_on_a_pause_without_end_is_refused() {
    for reason in [
        PauseReason::User,
        PauseReason::Restricted,
        PauseReason::SessionExpired,
    ] {
        framework()
            .given(vec![connected(), paused(reason, None, t(9, 30))])
            .when(SenderAccountCommand::ResumeAfterCooldown { at: t(23, 0) })
            .then_expect_error(SenderAccountError::CooldownNotOver);
    }
}

#[test]
fn resume_after_cooldown_when_not_paused_is_refused() {
    framework()
        .given(vec![connected()])
        .when(SenderAccountCommand::ResumeAfterCooldown { at: t(10, 0) })
        .then_expect_error(SenderAccountError::NotPaused);
}

// ---- Reconnect -----------------------------------------------------------------------------

#[test]
fn reconnect_after_a_session_expiry_resumes_sending() {
    framework()
        .given(vec![
            connected(),
            warning(WarningKind::SessionExpired, t(9, 30)),
            paused(PauseReason::SessionExpired, None, t(9, 30)),
        ])
        .when(SenderAccountCommand::Reconnect { at: t(10, 0) })
        .then_expect_events(vec![
            SenderAccountEvent::AccountReconnected { at: t(10, 0) },
            SenderAccountEvent::SendingResumed { at: t(10, 0) },
        ]);
}

#[test]
fn reconnect_puts_back_the_pause_the_session_expiry_replaced() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::Restricted, None, t(9, 15)),
            paused(PauseReason::SessionExpired, None, t(9, 30)),
        ])
        .when(SenderAccountCommand::Reconnect { at: t(10, 0) })
        .then_expect_events(vec![
            SenderAccountEvent::AccountReconnected { at: t(10, 0) },
            paused(PauseReason::Restricted, None, t(10, 0)),
        ]);
}

#[test]
fn reconnect_puts_back_a_timed_pause_only_while_it_runs() {
    let given = vec![
        connected(),
        paused(PauseReason::RateLimited, Some(t(14, 0)), t(9, 0)),
        paused(PauseReason::SessionExpired, None, t(9, 30)),
    ];
    framework()
        .given(given.clone())
        .when(SenderAccountCommand::Reconnect { at: t(10, 0) })
        .then_expect_events(vec![
            SenderAccountEvent::AccountReconnected { at: t(10, 0) },
            paused(PauseReason::RateLimited, Some(t(14, 0)), t(10, 0)),
        ]);
    framework()
        .given(given)
        .when(SenderAccountCommand::Reconnect { at: t(14, 0) })
        .then_expect_events(vec![
            SenderAccountEvent::AccountReconnected { at: t(14, 0) },
            SenderAccountEvent::SendingResumed { at: t(14, 0) },
        ]);
}

#[test]
fn reconnect_after_a_resumed_pause_does_not_bring_the_old_pause_back() {
    framework()
        .given(vec![
            connected(),
            paused(PauseReason::Restricted, None, t(9, 0)),
            SenderAccountEvent::SendingResumed { at: t(9, 15) },
            paused(PauseReason::SessionExpired, None, t(9, 30)),
        ])
        .when(SenderAccountCommand::Reconnect { at: t(10, 0) })
        .then_expect_events(vec![
            SenderAccountEvent::AccountReconnected { at: t(10, 0) },
            SenderAccountEvent::SendingResumed { at: t(10, 0) },
        ]);
}

#[test]
fn reconnect_when_the_session_is_fine_is_refused() {
    let cases = [
        vec![connected()],
        vec![connected(), paused(PauseReason::Restricted, None, t(9, 30))],
        vec![
            connected(),
            paused(PauseReason::SessionExpired, None, t(9, 30)),
            SenderAccountEvent::AccountReconnected { at: t(9, 45) },
            SenderAccountEvent::SendingResumed { at: t(9, 45) },
        ],
    ];
    for given in cases {
        framework()
            .given(given)
            .when(SenderAccountCommand::Reconnect { at: t(10, 0) })
            .then_expect_error(SenderAccountError::ReconnectNotNeeded);
    }
}

// ---- Disconnect ----------------------------------------------------------------------------

#[test]
fn disconnect_records_account_disconnected() {
    framework()
        .given(vec![connected(), paused(PauseReason::User, None, t(9, 30))])
        .when(SenderAccountCommand::Disconnect { at: t(10, 0) })
        .then_expect_events(vec![SenderAccountEvent::AccountDisconnected {
            at: t(10, 0),
        }]);
}

// ---- Derived reads -------------------------------------------------------------------------

#[test]
fn status_follows_the_recorded_events() {
    let cases: Vec<(Vec<SenderAccountEvent>, SenderStatus)> = vec![
        (vec![], SenderStatus::NotConnected),
        (vec![connected()], SenderStatus::Connected),
        (
            vec![
                connected(),
                paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
            ],
            SenderStatus::Paused {
                reason: PauseReason::RateLimited,
                until: Some(t(15, 0)),
            },
        ),
        (
            vec![connected(), paused(PauseReason::User, None, t(10, 0))],
            SenderStatus::Paused {
                reason: PauseReason::User,
                until: None,
            },
        ),
        (
            vec![connected(), paused(PauseReason::Restricted, None, t(10, 0))],
            SenderStatus::Restricted,
        ),
        (
            vec![
                connected(),
                paused(PauseReason::SessionExpired, None, t(10, 0)),
            ],
            SenderStatus::NeedsReconnect,
        ),
        (
            vec![
                connected(),
                paused(PauseReason::User, None, t(10, 0)),
                SenderAccountEvent::SendingResumed { at: t(11, 0) },
            ],
            SenderStatus::Connected,
        ),
        (
            vec![
                connected(),
                paused(PauseReason::Restricted, None, t(10, 0)),
                SenderAccountEvent::AccountDisconnected { at: t(11, 0) },
            ],
            SenderStatus::Disconnected,
        ),
    ];
    for (events, expected) in cases {
        assert_eq!(
            SenderAccount::from_events(events.clone()).status(),
            expected,
            "{events:?}"
        );
    }
}

#[test]
fn a_timed_pause_stops_counting_at_its_end_but_stays_in_the_status() {
    let account = SenderAccount::from_events(vec![
        connected(),
        paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
    ]);
    assert!(account.is_paused_at(t(14, 59)));
    assert!(!account.is_paused_at(t(15, 0)));
    assert_eq!(
        account.status(),
        SenderStatus::Paused {
            reason: PauseReason::RateLimited,
            until: Some(t(15, 0)),
        }
    );
    assert_eq!(account.readiness(), Readiness::default());
    assert_eq!(
        account.readiness_at(t(15, 0)),
        Readiness {
            invite: true,
            message: true
        }
    );

    let user_paused =
        SenderAccount::from_events(vec![connected(), paused(PauseReason::User, None, t(10, 0))]);
    assert!(user_paused.is_paused_at(t(23, 0)));
    assert!(!SenderAccount::from_events(vec![connected()]).is_paused_at(t(10, 0)));
}

#[test]
fn readiness_needs_a_connected_unpaused_account_and_a_limit_above_zero() {
    let ready = Readiness {
        invite: true,
        message: true,
    };
    assert_eq!(SenderAccount::default().readiness(), Readiness::default());
    assert_eq!(
        SenderAccount::from_events(vec![connected()]).readiness(),
        ready
    );

    let no_invites = Limits {
        daily_invites: 0,
        ..limits()
    };
    let no_weekly_invites = Limits {
        weekly_invites: 0,
        ..limits()
    };
    let no_messages = Limits {
        daily_messages: 0,
        ..limits()
    };
    let with_limits = |limits| {
        SenderAccount::from_events(vec![
            connected(),
            SenderAccountEvent::LimitsChanged {
                limits,
                at: t(10, 0),
            },
        ])
        .readiness()
    };
    assert_eq!(
        with_limits(no_invites),
        Readiness {
            invite: false,
            message: true
        }
    );
    assert_eq!(
        with_limits(no_weekly_invites),
        Readiness {
            invite: false,
            message: true
        }
    );
    assert_eq!(
        with_limits(no_messages),
        Readiness {
            invite: true,
            message: false
        }
    );

    let disconnected = SenderAccount::from_events(vec![
        connected(),
        SenderAccountEvent::AccountDisconnected { at: t(10, 0) },
    ]);
    assert_eq!(disconnected.readiness(), Readiness::default());
    assert_eq!(disconnected.readiness_at(t(11, 0)), Readiness::default());
}

#[test]
fn getters_reflect_the_connection_and_the_latest_limits() {
    let empty = SenderAccount::default();
    assert_eq!(empty.workspace_id(), None);
    assert_eq!(empty.limits(), None);
    assert_eq!(empty.connected_at(), None);

    let new = Limits {
        daily_invites: 5,
        daily_messages: 40,
        weekly_invites: 30,
    };
    let account = SenderAccount::from_events(vec![
        connected(),
        SenderAccountEvent::LimitsChanged {
            limits: new,
            at: t(10, 0),
        },
    ]);
    assert_eq!(account.workspace_id().map(|id| id.as_str()), Some("ws-1"));
    assert_eq!(account.account_id().map(|id| id.as_str()), Some("acc-1"));
    assert_eq!(
        account.provider_account_id().map(|id| id.as_str()),
        Some("prov-1")
    );
    assert_eq!(account.owner().map(|id| id.as_str()), Some("owner-1"));
    assert_eq!(account.tier(), Some(Tier::Free));
    assert_eq!(account.limits(), Some(new));
    assert_eq!(account.timezone(), Some(chrono_tz::Europe::Paris));
    assert_eq!(account.working_hours(), Some(WorkingHours::default()));
    assert_eq!(account.warm_up(), Some(true));
    assert_eq!(account.connected_at(), Some(t(9, 0)));
    assert_eq!(account.disconnected_at(), None);
}

#[test]
fn only_the_last_warnings_are_kept() {
    let mut events = vec![connected()];
    let total = MAX_RECENT_WARNINGS + 5;
    for minute in 0..total {
        events.push(warning(WarningKind::FailureStreak, t(10, minute as u32)));
    }
    let account = SenderAccount::from_events(events);
    let kept = account.recent_warnings();
    assert_eq!(kept.len(), MAX_RECENT_WARNINGS);
    assert_eq!(kept.first().map(|w| w.at), Some(t(10, 5)));
    assert_eq!(kept.last().map(|w| w.at), Some(t(10, total as u32 - 1)));
}

#[test]
fn a_pause_and_a_reconnect_fold_the_same_from_events_as_through_commands() {
    let history = vec![
        connected(),
        paused(PauseReason::Restricted, None, t(9, 15)),
        paused(PauseReason::SessionExpired, None, t(9, 30)),
        SenderAccountEvent::AccountReconnected { at: t(10, 0) },
        paused(PauseReason::Restricted, None, t(10, 0)),
    ];
    let account = SenderAccount::from_events(history);
    assert_eq!(account.status(), SenderStatus::Restricted);
    assert_eq!(
        account.pause(),
        Some(&Pause {
            reason: PauseReason::Restricted,
            until: None,
            since: t(10, 0),
        })
    );
}

#[test]
fn the_state_survives_a_snapshot_round_trip() {
    let account = SenderAccount::from_events(vec![
        connected(),
        warning(WarningKind::Restricted, t(9, 15)),
        paused(PauseReason::Restricted, None, t(9, 15)),
        paused(PauseReason::SessionExpired, None, t(9, 30)),
    ]);
    let json = serde_json::to_string(&account).unwrap();
    let back: SenderAccount = serde_json::from_str(&json).unwrap();
    assert_eq!(back, account);
}

// ---- Event contract ------------------------------------------------------------------------

#[test]
fn every_event_survives_a_json_round_trip() {
    let events = vec![
        connected(),
        SenderAccountEvent::LimitsChanged {
            limits: limits(),
            at: t(10, 0),
        },
        warning(WarningKind::UsageNearCap, t(10, 0)),
        SenderAccountEvent::WarningReceived {
            kind: WarningKind::TemporaryProviderLimit,
            detail: Some("cannot_resend_yet".into()),
            at: t(10, 0),
        },
        paused(PauseReason::RateLimited, Some(t(15, 0)), t(10, 0)),
        paused(PauseReason::User, None, t(10, 0)),
        SenderAccountEvent::SendingResumed { at: t(11, 0) },
        SenderAccountEvent::AccountReconnected { at: t(12, 0) },
        SenderAccountEvent::AccountDisconnected { at: t(13, 0) },
    ];
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json["type"],
            json!(cqrs_es::DomainEvent::event_type(&event))
        );
        let back: SenderAccountEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn account_connected_reads_as_the_documented_flat_object() {
    let json = serde_json::to_value(connected()).unwrap();
    assert_eq!(
        json,
        json!({
            "type": "AccountConnected",
            "workspace_id": "ws-1",
            "account_id": "acc-1",
            "provider_account_id": "prov-1",
            "owner": "owner-1",
            "tier": "free",
            "limits": {"daily_invites": 20, "daily_messages": 100, "weekly_invites": 100},
            "timezone": "Europe/Paris",
            "working_hours": {"start": "09:00", "end": "17:00"},
            "warm_up": true,
            "at": "2026-03-02T09:00:00Z",
        })
    );
    let at = json["at"].as_str().unwrap();
    assert_eq!(DateTime::parse_from_rfc3339(at).unwrap(), t(9, 0));
}

#[test]
fn pause_and_warning_events_use_snake_case_names_and_omit_absent_options() {
    assert_eq!(
        serde_json::to_value(paused(PauseReason::Restricted, None, t(10, 0))).unwrap(),
        json!({"type": "SendingPaused", "reason": "restricted", "at": "2026-03-02T10:00:00Z"})
    );
    assert_eq!(
        serde_json::to_value(warning(WarningKind::SessionExpired, t(10, 0))).unwrap(),
        json!({"type": "WarningReceived", "kind": "session_expired", "at": "2026-03-02T10:00:00Z"})
    );
}

#[test]
fn status_serializes_as_a_tagged_flat_object() {
    assert_eq!(
        serde_json::to_value(SenderStatus::Paused {
            reason: PauseReason::ApproachingLimit,
            until: Some(t(22, 0)),
        })
        .unwrap(),
        json!({"status": "paused", "reason": "approaching_limit", "until": "2026-03-02T22:00:00Z"})
    );
    assert_eq!(
        serde_json::to_value(SenderStatus::NeedsReconnect).unwrap(),
        json!({"status": "needs_reconnect"})
    );
    let back: SenderStatus = serde_json::from_value(json!({"status": "not_connected"})).unwrap();
    assert_eq!(back, SenderStatus::NotConnected);
}
