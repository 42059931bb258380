use chrono::{DateTime, Duration, NaiveDate, Utc};
use plera_domain::conversation::ConversationEvent;
use plera_domain::lead::LeadSequenceEvent as L;
use plera_domain::sender::{PauseReason, SenderAccountEvent as S, SenderStatus, WarningKind};
use plera_domain::values::{Action, Limits, Tier, WorkingHours};

use super::*;
use crate::memory::MemoryTables;
use crate::queries::{SenderHealth, WarningView};
use crate::testing::{day, run_all_ways, t, Log};

const ACC: &str = "acc-1";

fn limits(daily_invites: u32, daily_messages: u32, weekly_invites: u32) -> Limits {
    Limits {
        daily_invites,
        daily_messages,
        weekly_invites,
    }
}

fn connected(tz: chrono_tz::Tz, limits: Limits, warm_up: bool, at: DateTime<Utc>) -> S {
    S::AccountConnected {
        workspace_id: "ws".into(),
        account_id: ACC.into(),
        provider_account_id: "li-1".into(),
        owner: "alice".into(),
        tier: Tier::Premium,
        limits,
        timezone: tz,
        working_hours: WorkingHours::parse("09:00", "18:00").unwrap(),
        warm_up,
        at,
    }
}

fn step(action: Action, account: &str, at: DateTime<Utc>) -> L {
    L::StepStarted {
        step: 0,
        action,
        account_id: (action != Action::Email).then(|| account.into()),
        mailbox_id: (action == Action::Email).then(|| "mbox".into()),
        at,
    }
}

/// An event of no interest to the view except for its time: it moves `as_of`.
fn tick(at: DateTime<Utc>) -> ConversationEvent {
    ConversationEvent::ConversationRead {
        workspace_id: "ws".into(),
        lead_id: "nobody".into(),
        account_id: None,
        at,
    }
}

fn health(tables: &MemoryTables) -> Vec<SenderHealth> {
    let as_of = tables
        .records::<ClockRow>()
        .unwrap()
        .first()
        .and_then(|c| crate::time::parse_stamp(&c.as_of));
    tables
        .records::<SenderRow>()
        .unwrap()
        .iter()
        .map(|r| SenderHealth::from_row(r, as_of).unwrap())
        .collect()
}

fn one(log: &Log) -> SenderHealth {
    let all = health(&run_all_ways(&SenderView, &log.events));
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

#[test]
fn a_connected_sender_shows_its_settings_and_is_ready() {
    let mut log = Log::default();
    log.sender(
        ACC,
        connected(
            chrono_tz::Europe::Paris,
            limits(20, 50, 100),
            false,
            t(8, 0),
        ),
    );
    let h = one(&log);
    assert_eq!(h.status, SenderStatus::Connected);
    assert_eq!(h.owner.as_ref().map(|o| o.as_str()), Some("alice"));
    assert_eq!(h.workspace_id.as_ref().map(|w| w.as_str()), Some("ws"));
    assert_eq!(h.tier, Some(Tier::Premium));
    assert_eq!(h.timezone.as_deref(), Some("Europe/Paris"));
    assert_eq!(h.working_hours, Some(("09:00".into(), "18:00".into())));
    assert_eq!(h.limits, Some(limits(20, 50, 100)));
    assert_eq!(h.caps, Some(limits(20, 50, 100)));
    assert!(h.ready.invite && h.ready.message);
    assert_eq!(
        (h.usage.invites, h.usage.messages, h.usage.weekly_invites),
        (0, 0, 0)
    );
    assert_eq!(h.usage.as_of, Some(t(8, 0)));
    assert_eq!(h.connected_at, Some(t(8, 0)));
    let json = serde_json::to_value(&h).unwrap();
    assert_eq!(json["status"], "connected");
}

#[test]
fn use_is_counted_per_local_day_and_rolling_week_on_step_starts() {
    let ny = chrono_tz::America::New_York;
    let mut log = Log::default();
    log.sender(
        ACC,
        connected(ny, limits(20, 50, 100), false, day(-10, 8, 0)),
    )
    // 8 days before: outside the rolling week.
    .lead("s1", step(Action::Invite, ACC, day(-8, 15, 0)))
    // 6 days before: inside the week, not today.
    .lead("s2", step(Action::Invite, ACC, day(-6, 15, 0)))
    // 2026-03-02 04:00 UTC is still March 1st in New York: not today.
    .lead("s3", step(Action::Invite, ACC, t(4, 0)))
    // Today in New York.
    .lead("s4", step(Action::Invite, ACC, t(15, 0)))
    .lead("s5", step(Action::Message, ACC, t(16, 0)))
    .lead("s6", step(Action::Message, ACC, t(17, 0)))
    // Not LinkedIn, or not this sender: not counted.
    .lead("s7", step(Action::Email, ACC, t(17, 30)))
    .lead("s8", step(Action::Invite, "acc-2", t(17, 40)))
    // 22:00 in New York: as_of.
    .conversation("ws/nobody", tick(day(1, 3, 0)));
    let tables = run_all_ways(&SenderView, &log.events);
    let all = health(&tables);
    assert_eq!(all.len(), 2, "a sender seen only in a step gets a row too");
    let h = &all[0];
    assert_eq!(h.usage.day, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    assert_eq!(h.usage.invites, 1);
    assert_eq!(h.usage.messages, 2);
    assert_eq!(h.usage.weekly_invites, 3);
    assert_eq!(h.last_action_at, Some(t(17, 0)));
    assert_eq!(all[1].account_id.as_str(), "acc-2");
    assert_eq!(all[1].status, SenderStatus::NotConnected);
    assert!(!all[1].ready.invite, "an unconnected sender is not ready");
    // The invite of 8 days before is no longer kept.
    let row = &tables.records::<SenderRow>().unwrap()[0];
    assert!(
        !row.recent_actions.contains("2026-02-22"),
        "{}",
        row.recent_actions
    );

    // A day later the day's counts start again and the week moves on.
    log.conversation("ws/nobody", tick(day(5, 3, 0)));
    let later = one_of(&log, ACC);
    assert_eq!(
        later.usage.day,
        NaiveDate::from_ymd_opt(2026, 3, 6).unwrap()
    );
    assert_eq!((later.usage.invites, later.usage.messages), (0, 0));
    assert_eq!(
        later.usage.weekly_invites, 2,
        "the invite of 6 days before left the week"
    );
}

fn one_of(log: &Log, account: &str) -> SenderHealth {
    health(&run_all_ways(&SenderView, &log.events))
        .into_iter()
        .find(|h| h.account_id.as_str() == account)
        .unwrap()
}

#[test]
fn a_used_up_cap_makes_the_action_not_ready() {
    let mut log = Log::default();
    log.sender(
        ACC,
        connected(chrono_tz::UTC, limits(2, 1, 100), false, t(8, 0)),
    )
    .lead("s1", step(Action::Invite, ACC, t(9, 0)))
    .lead("s2", step(Action::Invite, ACC, t(9, 10)));
    let h = one(&log);
    assert!(!h.ready.invite);
    assert!(h.ready.message);
    log.lead("s3", step(Action::Message, ACC, t(9, 20)));
    assert!(!one(&log).ready.message);
}

#[test]
fn a_warming_account_shows_its_ramped_caps() {
    let mut log = Log::default();
    log.sender(
        ACC,
        connected(chrono_tz::UTC, limits(80, 150, 200), true, t(8, 0)),
    );
    let h = one(&log);
    assert_eq!(h.limits, Some(limits(80, 150, 200)));
    assert_eq!(
        h.caps,
        Some(limits(16, 30, 40)),
        "20 % on the day of connection"
    );
    log.conversation("ws/nobody", tick(day(14, 8, 0)));
    assert_eq!(one(&log).caps, Some(limits(80, 150, 200)));
}

#[test]
fn warnings_pauses_and_resumes_show_in_the_status_and_the_history() {
    let until = t(10, 0) + Duration::hours(24);
    let mut log = Log::default();
    log.sender(
        ACC,
        connected(chrono_tz::UTC, limits(20, 50, 100), false, t(8, 0)),
    )
    .sender(
        ACC,
        S::WarningReceived {
            kind: WarningKind::RateLimited,
            detail: Some("429".into()),
            at: t(10, 0),
        },
    )
    .sender(
        ACC,
        S::SendingPaused {
            reason: PauseReason::RateLimited,
            until: Some(until),
            at: t(10, 0),
        },
    );
    let h = one(&log);
    assert_eq!(
        h.status,
        SenderStatus::Paused {
            reason: PauseReason::RateLimited,
            until: Some(until)
        }
    );
    assert_eq!(h.paused_since, Some(t(10, 0)));
    assert!(!h.ready.invite && !h.ready.message);
    assert_eq!(h.warnings, 1);
    assert_eq!(
        h.last_warning.as_ref().map(|w| w.kind),
        Some(WarningKind::RateLimited)
    );
    let json = serde_json::to_value(&h).unwrap();
    assert_eq!(json["status"], "paused");
    assert_eq!(json["reason"], "rate_limited");

    log.sender(ACC, S::SendingResumed { at: day(1, 10, 0) })
        .sender(
            ACC,
            S::WarningReceived {
                kind: WarningKind::Restricted,
                detail: None,
                at: day(1, 11, 0),
            },
        )
        .sender(
            ACC,
            S::SendingPaused {
                reason: PauseReason::Restricted,
                until: None,
                at: day(1, 11, 0),
            },
        );
    let tables = run_all_ways(&SenderView, &log.events);
    let h = &health(&tables)[0];
    assert_eq!(h.status, SenderStatus::Restricted);
    assert_eq!(h.pause_reason, Some(PauseReason::Restricted));
    assert_eq!(h.warnings, 2);
    let history: Vec<WarningView> = tables
        .records::<WarningRow>()
        .unwrap()
        .iter()
        .map(|w| WarningView::from_row(w).unwrap())
        .collect();
    assert_eq!(
        history,
        vec![
            WarningView {
                kind: WarningKind::RateLimited,
                detail: Some("429".into()),
                at: t(10, 0)
            },
            WarningView {
                kind: WarningKind::Restricted,
                detail: None,
                at: day(1, 11, 0)
            },
        ]
    );
}

#[test]
fn an_expired_session_needs_a_reconnect_and_a_disconnected_sender_is_never_ready() {
    let mut log = Log::default();
    log.sender(
        ACC,
        connected(chrono_tz::UTC, limits(20, 50, 100), false, t(8, 0)),
    )
    .sender(
        ACC,
        S::SendingPaused {
            reason: PauseReason::SessionExpired,
            until: None,
            at: t(9, 0),
        },
    );
    assert_eq!(one(&log).status, SenderStatus::NeedsReconnect);
    log.sender(ACC, S::AccountReconnected { at: t(9, 30) })
        .sender(ACC, S::SendingResumed { at: t(9, 30) })
        .sender(
            ACC,
            S::LimitsChanged {
                limits: limits(10, 40, 90),
                at: t(9, 40),
            },
        );
    let h = one(&log);
    assert_eq!(h.status, SenderStatus::Connected);
    assert_eq!(h.limits, Some(limits(10, 40, 90)));
    log.sender(ACC, S::AccountDisconnected { at: t(10, 0) });
    let h = one(&log);
    assert_eq!(h.status, SenderStatus::Disconnected);
    assert_eq!(h.disconnected_at, Some(t(10, 0)));
    assert!(!h.ready.invite && !h.ready.message);
}
