use chrono::{DateTime, Utc};
use plera_domain::conversation::ConversationEvent;
use plera_domain::ids::ProviderMessageId;
use plera_domain::lead::{LeadSequenceEvent as L, StopReason};
use plera_domain::values::{Action, Channel, ConnectionDegree};

use super::*;
use crate::memory::MemoryTables;
use crate::queries::{InboxFilter, Thread};
use crate::testing::{run_all_ways, t, Log};

fn started(ws: &str, lead: &str, campaign: &str, account: &str, at: DateTime<Utc>) -> L {
    L::SequenceStarted {
        workspace_id: ws.into(),
        lead_id: lead.into(),
        campaign_id: campaign.into(),
        play: "linkedin-first".into(),
        account_id: account.into(),
        mailbox_id: Some("mbox".into()),
        connection_degree: ConnectionDegree::Second,
        email_known: true,
        at,
    }
}

fn reply(channel: Channel, id: &str, text: &str, at: DateTime<Utc>) -> L {
    L::ReplyReceived {
        channel,
        message_id: ProviderMessageId::new(id),
        text: text.into(),
        at,
    }
}

fn inbound(
    lead: &str,
    account: Option<&str>,
    channel: Channel,
    id: &str,
    at: DateTime<Utc>,
) -> ConversationEvent {
    ConversationEvent::InboundMessageReceived {
        workspace_id: "ws".into(),
        lead_id: lead.into(),
        account_id: account.map(Into::into),
        channel,
        message_id: ProviderMessageId::new(id),
        text: format!("hello from {lead}"),
        at,
    }
}

fn read(lead: &str, account: Option<&str>, at: DateTime<Utc>) -> ConversationEvent {
    ConversationEvent::ConversationRead {
        workspace_id: "ws".into(),
        lead_id: lead.into(),
        account_id: account.map(Into::into),
        at,
    }
}

/// Every thread with its messages, in key order.
fn threads(tables: &MemoryTables) -> Vec<Thread> {
    let messages: Vec<MessageRow> = tables.records().unwrap();
    tables
        .records::<ThreadRow>()
        .unwrap()
        .into_iter()
        .map(|th| {
            let mine = messages
                .iter()
                .filter(|m| {
                    m.workspace_id == th.workspace_id
                        && m.lead_id == th.lead_id
                        && m.account_id == th.account_id
                })
                .cloned()
                .collect();
            Thread::from_rows(th, mine).unwrap()
        })
        .collect()
}

#[test]
fn every_message_of_a_sequence_lands_in_the_lead_and_sender_thread_in_time_order() {
    let seq = "ws/c1/lead-1";
    let mut log = Log::default();
    log.lead(seq, started("ws", "lead-1", "c1", "acc-1", t(9, 0)))
        .lead(
            seq,
            L::StepStarted {
                step: 0,
                action: Action::Invite,
                account_id: Some("acc-1".into()),
                mailbox_id: None,
                at: t(9, 5),
            },
        )
        .lead(
            seq,
            L::InviteSent {
                step: 0,
                account_id: "acc-1".into(),
                note: Some("Hi Grace".into()),
                at: t(9, 6),
            },
        )
        .lead(seq, L::InviteAccepted { at: t(10, 0) })
        .lead(
            seq,
            L::MessageSent {
                step: 1,
                account_id: "acc-1".into(),
                text: "Thanks for connecting".into(),
                at: t(11, 0),
            },
        )
        .lead(
            seq,
            L::EmailSent {
                step: 2,
                mailbox: "mbox".into(),
                subject: "Quick question".into(),
                body: "Would you have 10 minutes?".into(),
                at: t(12, 0),
            },
        )
        .lead(
            seq,
            L::OutOfOfficeReceived {
                channel: Channel::Email,
                message_id: ProviderMessageId::new("ooo-1"),
                text: "Out of office until Monday".into(),
                until: None,
                at: t(12, 30),
            },
        )
        .lead(seq, reply(Channel::Email, "r-1", "Sure, call me", t(13, 0)))
        .lead(
            seq,
            L::SequenceStopped {
                reason: StopReason::Replied,
                at: t(13, 0),
            },
        );
    let tables = run_all_ways(&InboxView, &log.events);
    let all = threads(&tables);
    assert_eq!(
        all.len(),
        1,
        "one thread per lead and sender, both channels"
    );
    let thread = &all[0];
    assert_eq!(thread.lead_id.as_str(), "lead-1");
    assert_eq!(
        thread.account_id.as_ref().map(|a| a.as_str()),
        Some("acc-1")
    );
    assert_eq!(thread.campaign_id.as_ref().map(|c| c.as_str()), Some("c1"));
    assert_eq!(thread.last_channel, Channel::Email);
    assert_eq!(thread.unread, 2, "the out-of-office answer and the reply");
    let shape: Vec<(MessageKind, Direction, Channel, &str, Option<&str>)> = thread
        .messages
        .iter()
        .map(|m| {
            (
                m.kind,
                m.direction,
                m.channel,
                m.text.as_str(),
                m.subject.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                MessageKind::Invite,
                Direction::Outbound,
                Channel::Linkedin,
                "Hi Grace",
                None
            ),
            (
                MessageKind::Message,
                Direction::Outbound,
                Channel::Linkedin,
                "Thanks for connecting",
                None
            ),
            (
                MessageKind::Email,
                Direction::Outbound,
                Channel::Email,
                "Would you have 10 minutes?",
                Some("Quick question")
            ),
            (
                MessageKind::OutOfOffice,
                Direction::Inbound,
                Channel::Email,
                "Out of office until Monday",
                None
            ),
            (
                MessageKind::Reply,
                Direction::Inbound,
                Channel::Email,
                "Sure, call me",
                None
            ),
        ]
    );
    assert_eq!(thread.messages[0].at, t(9, 6));
    let json = serde_json::to_value(thread).unwrap();
    for field in ["lead_id", "account_id", "campaign_id", "unread", "messages"] {
        assert!(json.get(field).is_some(), "{field} is in the JSON");
    }
    assert_eq!(json["messages"][4]["direction"], "inbound");
    assert_eq!(json["messages"][4]["channel"], "email");
    assert_eq!(json["messages"][4]["text"], "Sure, call me");
}

#[test]
fn an_invite_without_a_note_still_shows_as_an_outbound_invite() {
    let seq = "ws/c1/lead-1";
    let mut log = Log::default();
    log.lead(seq, started("ws", "lead-1", "c1", "acc-1", t(9, 0)))
        .lead(
            seq,
            L::InviteSent {
                step: 0,
                account_id: "acc-1".into(),
                note: None,
                at: t(9, 6),
            },
        );
    let all = threads(&run_all_ways(&InboxView, &log.events));
    assert_eq!(all[0].messages.len(), 1);
    assert_eq!(all[0].messages[0].kind, MessageKind::Invite);
    assert_eq!(all[0].messages[0].text, "");
    assert_eq!(all[0].unread, 0, "outbound messages are never unread");
}

#[test]
fn people_in_no_sequence_get_threads_of_their_own() {
    let mut log = Log::default();
    log.conversation(
        "ws/stranger",
        inbound("stranger", Some("acc-1"), Channel::Linkedin, "m-1", t(9, 0)),
    )
    .conversation(
        "ws/stranger",
        inbound("stranger", None, Channel::Email, "m-2", t(9, 30)),
    );
    let all = threads(&run_all_ways(&InboxView, &log.events));
    assert_eq!(
        all.len(),
        2,
        "the LinkedIn sender's thread and the sender-less email one"
    );
    // Key order: the empty account sorts first.
    assert_eq!(all[0].account_id, None);
    assert_eq!(all[0].last_channel, Channel::Email);
    assert_eq!(
        all[1].account_id.as_ref().map(|a| a.as_str()),
        Some("acc-1")
    );
    for thread in &all {
        assert_eq!(thread.campaign_id, None);
        assert_eq!(thread.unread, 1);
        assert_eq!(thread.messages[0].kind, MessageKind::Inbound);
        assert_eq!(thread.messages[0].text, "hello from stranger");
    }
}

#[test]
fn a_duplicate_delivery_appears_once_even_across_batches() {
    let seq = "ws/c1/lead-1";
    let mut log = Log::default();
    log.lead(seq, started("ws", "lead-1", "c1", "acc-1", t(9, 0)))
        .lead(seq, reply(Channel::Linkedin, "r-1", "yes", t(10, 0)))
        .lead(seq, reply(Channel::Linkedin, "r-1", "yes", t(10, 1)))
        .conversation(
            "ws/x",
            inbound("x", Some("acc-1"), Channel::Linkedin, "m-9", t(11, 0)),
        )
        .conversation(
            "ws/x",
            inbound("x", Some("acc-1"), Channel::Linkedin, "m-9", t(11, 2)),
        );
    let tables = run_all_ways(&InboxView, &log.events);
    assert_eq!(tables.rows("inbox_messages").len(), 2);
    let all = threads(&tables);
    for thread in &all {
        assert_eq!(thread.messages.len(), 1);
        assert_eq!(thread.unread, 1);
    }
}

#[test]
fn unread_counts_inbound_messages_since_the_last_read() {
    let (s1, s2) = ("ws/c1/lead-1", "ws/c2/lead-1");
    let mut log = Log::default();
    log.lead(s1, started("ws", "lead-1", "c1", "acc-1", t(9, 0)))
        .lead(s2, started("ws", "lead-1", "c2", "acc-2", t(9, 0)))
        .lead(s1, reply(Channel::Linkedin, "r-1", "one", t(10, 0)))
        .conversation(
            "ws/lead-1",
            inbound("lead-1", Some("acc-1"), Channel::Linkedin, "m-2", t(10, 5)),
        )
        .lead(s2, reply(Channel::Linkedin, "r-3", "three", t(10, 10)))
        .conversation(
            "ws/other",
            inbound("other", Some("acc-1"), Channel::Linkedin, "m-4", t(10, 15)),
        );
    let before = threads(&run_all_ways(&InboxView, &log.events));
    let unread: Vec<(&str, Option<&str>, u64)> = before
        .iter()
        .map(|th| {
            (
                th.lead_id.as_str(),
                th.account_id.as_ref().map(|a| a.as_str()),
                th.unread,
            )
        })
        .collect();
    assert_eq!(
        unread,
        vec![
            ("lead-1", Some("acc-1"), 2),
            ("lead-1", Some("acc-2"), 1),
            ("other", Some("acc-1"), 1)
        ]
    );

    // A read through one sender resets that thread only; a later message counts again.
    log.conversation("ws/lead-1", read("lead-1", Some("acc-1"), t(11, 0)))
        .lead(s1, reply(Channel::Email, "r-5", "five", t(11, 30)));
    let after_one = threads(&run_all_ways(&InboxView, &log.events));
    assert_eq!(after_one[0].unread, 1);
    assert_eq!(after_one[0].last_read_at, Some(t(11, 0)));
    assert_eq!(after_one[1].unread, 1);

    // A read without a sender resets every thread of the lead, and no other lead's.
    log.conversation("ws/lead-1", read("lead-1", None, t(12, 0)));
    let after_all = threads(&run_all_ways(&InboxView, &log.events));
    assert_eq!(after_all[0].unread, 0);
    assert_eq!(after_all[1].unread, 0);
    assert_eq!(after_all[2].unread, 1);
    assert_eq!(after_all[0].messages.len(), 3, "reading removes no message");
}

#[test]
fn a_message_recorded_late_is_placed_by_its_time_and_does_not_become_the_latest() {
    let seq = "ws/c1/lead-1";
    let mut log = Log::default();
    log.lead(seq, started("ws", "lead-1", "c1", "acc-1", t(9, 0)))
        .lead(
            seq,
            reply(Channel::Email, "late", "written at 10", t(12, 0)),
        )
        .conversation(
            "ws/lead-1",
            inbound(
                "lead-1",
                Some("acc-1"),
                Channel::Linkedin,
                "early",
                t(10, 0),
            ),
        );
    let all = threads(&run_all_ways(&InboxView, &log.events));
    assert_eq!(all[0].messages[0].at, t(10, 0));
    assert_eq!(all[0].messages[1].at, t(12, 0));
    assert_eq!(all[0].last_channel, Channel::Email);
    assert_eq!(all[0].campaign_id.as_ref().map(|c| c.as_str()), Some("c1"));
}

#[test]
fn events_outside_the_inbox_change_nothing_and_a_sequence_without_start_is_ignored() {
    let mut log = Log::default();
    log.lead("ws/c1/orphan", reply(Channel::Email, "r-1", "?", t(9, 0)))
        .lead("ws/c1/orphan", L::InviteAccepted { at: t(9, 1) });
    let tables = run_all_ways(&InboxView, &log.events);
    assert!(tables.rows("inbox_threads").is_empty());
    assert!(tables.rows("inbox_messages").is_empty());
}

#[test]
fn the_filter_selects_by_sender_campaign_channel_and_unread() {
    let thread = ThreadRow {
        workspace_id: "ws".into(),
        lead_id: "l".into(),
        account_id: "acc-1".into(),
        campaign_id: Some("c1".into()),
        last_channel: "email".into(),
        last_direction: "inbound".into(),
        last_at: crate::time::stamp(t(9, 0)),
        last_position: 3,
        messages: 2,
        inbound: 1,
        unread: 1,
        last_read_at: None,
    };
    let all = InboxFilter::default();
    assert!(all.matches(&thread));
    let pass = [
        InboxFilter {
            account: Some("acc-1".into()),
            ..all.clone()
        },
        InboxFilter {
            campaign: Some("c1".into()),
            ..all.clone()
        },
        InboxFilter {
            channel: Some(Channel::Email),
            ..all.clone()
        },
        InboxFilter {
            unread_only: true,
            ..all.clone()
        },
        InboxFilter {
            workspace: Some("ws".into()),
            lead: Some("l".into()),
            ..all.clone()
        },
    ];
    let fail = [
        InboxFilter {
            account: Some("acc-2".into()),
            ..all.clone()
        },
        InboxFilter {
            campaign: Some("c2".into()),
            ..all.clone()
        },
        InboxFilter {
            channel: Some(Channel::Linkedin),
            ..all.clone()
        },
        InboxFilter {
            workspace: Some("other".into()),
            ..all.clone()
        },
    ];
    assert!(pass.iter().all(|f| f.matches(&thread)));
    assert!(fail.iter().all(|f| !f.matches(&thread)));
    let read = ThreadRow {
        unread: 0,
        ..thread
    };
    assert!(!InboxFilter {
        unread_only: true,
        ..all
    }
    .matches(&read));
}
