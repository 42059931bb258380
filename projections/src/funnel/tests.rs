use chrono::{DateTime, NaiveDate, Utc};
use plera_domain::campaign::CampaignEvent;
use plera_domain::ids::ProviderMessageId;
use plera_domain::lead::{LeadSequenceEvent as L, SkipReason, StopReason};
use plera_domain::play::Play;
use plera_domain::values::{Action, Channel, ConnectionDegree};

use super::*;
use crate::queries::{Funnel, FunnelDay};
use crate::testing::{day, run_all_ways, t, Log};

fn created(at: DateTime<Utc>) -> CampaignEvent {
    CampaignEvent::CampaignCreated {
        workspace_id: "ws".into(),
        campaign_id: "c1".into(),
        name: "Spring".into(),
        play: Play::linkedin_first(),
        senders: vec!["acc-1".into()],
        mailbox_id: Some("mbox".into()),
        at,
    }
}

fn started(lead: &str, at: DateTime<Utc>) -> L {
    L::SequenceStarted {
        workspace_id: "ws".into(),
        lead_id: lead.into(),
        campaign_id: "c1".into(),
        play: "linkedin-first".into(),
        account_id: "acc-1".into(),
        mailbox_id: Some("mbox".into()),
        connection_degree: ConnectionDegree::Second,
        email_known: true,
        at,
    }
}

fn begin(step: u32, action: Action, at: DateTime<Utc>) -> L {
    L::StepStarted {
        step,
        action,
        account_id: (action != Action::Email).then(|| "acc-1".into()),
        mailbox_id: (action == Action::Email).then(|| "mbox".into()),
        at,
    }
}

fn invite(at: DateTime<Utc>) -> L {
    L::InviteSent {
        step: 0,
        account_id: "acc-1".into(),
        note: Some("Hi".into()),
        at,
    }
}

fn reply(channel: Channel, id: &str, at: DateTime<Utc>) -> L {
    L::ReplyReceived {
        channel,
        message_id: ProviderMessageId::new(id),
        text: "hi".into(),
        at,
    }
}

fn stopped(reason: StopReason, at: DateTime<Utc>) -> L {
    L::SequenceStopped { reason, at }
}

fn skipped(step: u32, reason: SkipReason, at: DateTime<Utc>) -> L {
    L::StepSkipped { step, reason, at }
}

/// Four leads through `linkedin-first` (invite, email, message, email):
/// A is invited (after a retry), accepts (twice delivered), gets the message and replies (twice
/// delivered); B is invited, gets the email, completes; C's invite fails for good, C is stopped
/// by hand and then replies by email; D only sends an out-of-office answer.
fn campaign_log() -> Log {
    let (a, b, c, d) = ("ws/c1/a", "ws/c1/b", "ws/c1/c", "ws/c1/d");
    let mut log = Log::default();
    log.campaign("c1", created(t(8, 0)))
        .lead(a, started("a", t(9, 0)))
        .lead(b, started("b", t(9, 0)))
        .lead(c, started("c", t(9, 0)))
        .lead(d, started("d", t(9, 0)))
        .lead(a, begin(0, Action::Invite, t(10, 0)))
        .lead(
            a,
            L::StepFailed {
                step: 0,
                retryable: true,
                reason: "provider_error".into(),
                at: t(10, 1),
            },
        )
        .lead(a, begin(0, Action::Invite, t(11, 0)))
        .lead(a, invite(t(11, 1)))
        .lead(b, begin(0, Action::Invite, t(11, 5)))
        .lead(b, invite(t(11, 6)))
        .lead(c, begin(0, Action::Invite, t(11, 10)))
        .lead(
            c,
            L::StepFailed {
                step: 0,
                retryable: false,
                reason: "recipient_refused".into(),
                at: t(11, 11),
            },
        )
        .lead(c, stopped(StopReason::Manual, t(12, 0)))
        .lead(a, L::InviteAccepted { at: day(1, 9, 0) })
        .lead(a, L::InviteAccepted { at: day(1, 9, 5) })
        .lead(a, skipped(1, SkipReason::ConditionNotMet, day(1, 9, 10)))
        .lead(a, begin(2, Action::Message, day(2, 10, 0)))
        .lead(
            a,
            L::MessageSent {
                step: 2,
                account_id: "acc-1".into(),
                text: "Thanks".into(),
                at: day(2, 10, 1),
            },
        )
        .lead(a, reply(Channel::Linkedin, "r-a", day(2, 15, 0)))
        .lead(a, stopped(StopReason::Replied, day(2, 15, 0)))
        .lead(a, reply(Channel::Linkedin, "r-a", day(2, 15, 1)))
        .lead(a, stopped(StopReason::Replied, day(2, 15, 1)))
        .lead(b, begin(1, Action::Email, day(7, 10, 0)))
        .lead(
            b,
            L::EmailSent {
                step: 1,
                mailbox: "mbox".into(),
                subject: "Hello".into(),
                body: "Body".into(),
                at: day(7, 10, 1),
            },
        )
        .lead(b, skipped(2, SkipReason::NotConnected, day(8, 10, 0)))
        .lead(b, skipped(3, SkipReason::ConditionNotMet, day(11, 10, 0)))
        .lead(b, L::SequenceCompleted { at: day(11, 10, 0) })
        .lead(c, reply(Channel::Email, "r-c", day(3, 8, 0)))
        .lead(c, stopped(StopReason::Replied, day(3, 8, 0)))
        .lead(
            d,
            L::OutOfOfficeReceived {
                channel: Channel::Email,
                message_id: ProviderMessageId::new("ooo-d"),
                text: "Out of office until Monday".into(),
                until: None,
                at: day(1, 7, 0),
            },
        );
    log
}

#[test]
fn the_campaign_funnel_counts_each_lead_once_and_computes_its_rates() {
    let tables = run_all_ways(&FunnelView, &campaign_log().events);
    let campaigns: Vec<CampaignFunnel> = tables.records().unwrap();
    let steps: Vec<StepFunnel> = tables.records().unwrap();
    assert_eq!(campaigns.len(), 1);
    let f = Funnel::from_rows(&campaigns[0], &steps).unwrap();
    assert_eq!(f.name.as_deref(), Some("Spring"));
    assert_eq!(f.workspace_id.as_ref().map(|w| w.as_str()), Some("ws"));
    assert_eq!(
        (
            f.enrolled,
            f.contacted,
            f.invited,
            f.accepted,
            f.messaged,
            f.emailed
        ),
        (4, 2, 2, 1, 1, 1)
    );
    assert_eq!(f.acceptance_rate, Some(0.5));
    assert_eq!((f.replied, f.replied_linkedin, f.replied_email), (2, 1, 1));
    assert_eq!(f.reply_rate, Some(1.0));
    assert_eq!(
        f.reply_rate_linkedin,
        Some(0.5),
        "A and B were reached on LinkedIn"
    );
    assert_eq!(f.reply_rate_email, Some(1.0), "only B was emailed");
    assert_eq!(f.out_of_office, 1);
    assert_eq!((f.stopped, f.stopped_other, f.completed), (2, 1, 1));
    let json = serde_json::to_value(&f).unwrap();
    for field in [
        "enrolled", "invited", "accepted", "messaged", "emailed", "replied", "stopped",
    ] {
        assert!(json.get(field).is_some(), "{field} is in the JSON");
    }
}

#[test]
fn each_step_shows_its_starts_sends_outcomes_and_the_replies_it_brought() {
    let tables = run_all_ways(&FunnelView, &campaign_log().events);
    let f = Funnel::from_rows(
        &tables.records::<CampaignFunnel>().unwrap()[0],
        &tables.records::<StepFunnel>().unwrap(),
    )
    .unwrap();
    let shape: Vec<_> = f
        .steps
        .iter()
        .map(|s| {
            (
                s.step, s.action, s.started, s.sent, s.failed, s.skipped, s.accepted,
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (0, Some(Action::Invite), 3, 2, 1, 0, 1),
            (1, Some(Action::Email), 1, 1, 0, 1, 0),
            (2, Some(Action::Message), 1, 1, 0, 1, 0),
            (3, Some(Action::Email), 0, 0, 0, 1, 0),
        ],
        "every step of the play has a row, the retried invite starts once"
    );
    assert_eq!(f.steps[0].acceptance_rate, Some(0.5));
    assert_eq!(f.steps[1].acceptance_rate, None, "not an invite step");
    assert_eq!(f.steps[0].replied, 0);
    let message = &f.steps[2];
    assert_eq!(
        (message.replied, message.replied_linkedin, message.stopped),
        (1, 1, 1)
    );
    assert_eq!(message.reply_rate, Some(1.0));
    assert_eq!(f.steps[3].reply_rate, None);
}

#[test]
fn daily_rows_plot_the_activity_by_utc_day() {
    let tables = run_all_ways(&FunnelView, &campaign_log().events);
    let days: Vec<FunnelDay> = tables
        .records::<DayFunnel>()
        .unwrap()
        .iter()
        .map(|d| FunnelDay::from_row(d).unwrap())
        .collect();
    let date = |n: u32| NaiveDate::from_ymd_opt(2026, 3, n).unwrap();
    let shape: Vec<_> = days
        .iter()
        .map(|d| {
            (
                d.day,
                d.enrolled,
                d.invited,
                d.accepted,
                d.messaged,
                d.emailed,
                d.replied,
                d.stopped,
                d.completed,
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (date(2), 4, 2, 0, 0, 0, 0, 0, 0),
            (date(3), 0, 0, 1, 0, 0, 0, 0, 0),
            (date(4), 0, 0, 0, 1, 0, 1, 1, 0),
            (date(5), 0, 0, 0, 0, 0, 1, 1, 0),
            (date(9), 0, 0, 0, 0, 1, 0, 0, 0),
            (date(13), 0, 0, 0, 0, 0, 0, 0, 1),
        ]
    );
}

#[test]
fn a_sequence_of_a_campaign_never_created_still_counts_and_the_name_fills_in_later() {
    let mut log = Log::default();
    log.lead("ws/c1/a", started("a", t(9, 0)))
        .lead("ws/c1/a", begin(0, Action::Invite, t(10, 0)))
        .lead("ws/c1/a", invite(t(10, 1)));
    let tables = run_all_ways(&FunnelView, &log.events);
    let c = &tables.records::<CampaignFunnel>().unwrap()[0];
    assert_eq!((c.enrolled, c.invited, c.name.clone()), (1, 1, None));
    log.campaign("c1", created(t(11, 0)));
    let tables = run_all_ways(&FunnelView, &log.events);
    let c = &tables.records::<CampaignFunnel>().unwrap()[0];
    assert_eq!(
        (c.enrolled, c.invited, c.name.as_deref()),
        (1, 1, Some("Spring"))
    );
    assert_eq!(tables.records::<StepFunnel>().unwrap().len(), 4);
}
