//! A reply that arrives while a step is due stops it; a paused sender sends nothing until resumed.

use chrono::{Duration, TimeZone, Utc};
use plera_actors::store::EventLog;
use plera_actors::{EnrollOptions, LeadProfile, LeadSpec};
use plera_adapters::sandbox::SandboxLead;
use plera_domain::ids::{LeadId, OwnerId, ProviderAccountId, ProviderMessageId};
use plera_domain::ports::{Clock, InboundEvent};
use plera_domain::sender::SenderStatus;
use plera_domain::values::{Channel, ConnectionDegree, Limits};
use plera_tests::{london_sender, mailbox, on_every_store, Harness, StoreKind};
use std::sync::Arc;

on_every_store!(
    a_reply_arriving_while_the_step_is_due_stops_it,
    a_paused_sender_sends_nothing_until_it_is_resumed,
    a_stale_expired_session_notice_does_not_undo_a_reconnect,
    concurrent_inbound_events_share_commits_and_record_what_one_by_one_would,
    a_page_of_inbound_events_is_taken_in_order_with_a_commit_per_run,
);

async fn setup(
    kind: StoreKind,
    lead_count: usize,
) -> (Harness, Arc<dyn EventLog>, plera_domain::ids::AccountId) {
    // Monday 2 March 2026, 10:00 in London: inside working hours.
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap();
    let mut h = Harness::new(21, start, kind, None).await;
    let log = h.log.clone();
    let sender = h
        .connect(
            "li-1",
            london_sender(Limits {
                daily_invites: 20,
                daily_messages: 20,
                weekly_invites: 100,
            }),
        )
        .await;
    mailbox(&h).await;
    let campaign = h.campaign("c", vec![sender.clone()]).await;
    let mut specs = Vec::new();
    for i in 0..lead_count {
        let lead = LeadId::new(format!("l{i}"));
        h.world.add_lead(lead.clone(), SandboxLead::default());
        specs.push(LeadSpec {
            lead_id: lead,
            profile: LeadProfile::new("Ada", "Lovelace", "Acme")
                .with_var("sender_first_name", "Al"),
            connection_degree: ConnectionDegree::Second,
            sender: None,
        });
    }
    h.engine
        .enroll_many(&h.workspace, &campaign, specs, EnrollOptions::default())
        .await
        .unwrap();
    (h, log, sender)
}

async fn a_reply_arriving_while_the_step_is_due_stops_it(kind: StoreKind) {
    let (mut h, log, sender) = setup(kind, 1).await;
    // The invite is due right now; the reply lands first.
    h.engine
        .ingest(
            &h.workspace,
            InboundEvent::MessageReceived {
                account: Some(sender),
                lead: LeadId::new("l0"),
                channel: Channel::Email,
                message_id: ProviderMessageId::new("r1"),
                text: "Not interested, thanks".into(),
                at: h.clock.now(),
            },
        )
        .await
        .unwrap();
    let end = h.clock.now() + Duration::days(10);
    h.run_until(end).await;
    assert!(h.ledger().is_empty(), "{:?}", h.ledger());
    let events = log.read_after(0, usize::MAX).await.unwrap();
    assert!(!events.iter().any(|e| e.event_type == "StepStarted"));
    let types: Vec<&str> = events
        .iter()
        .filter(|e| e.aggregate_type == "lead_sequence")
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        ["SequenceStarted", "ReplyReceived", "SequenceStopped"]
    );
}

async fn a_paused_sender_sends_nothing_until_it_is_resumed(kind: StoreKind) {
    let (mut h, _log, sender) = setup(kind, 30).await;
    h.engine.pause_sender(&h.workspace, &sender).await.unwrap();
    let paused_until = h.clock.now() + Duration::days(3);
    h.run_until(paused_until).await;
    assert!(h.ledger().is_empty(), "sent while paused: {:?}", h.ledger());
    h.engine.resume_sender(&h.workspace, &sender).await.unwrap();
    h.run_until(paused_until + Duration::days(2)).await;
    let ledger = h.ledger();
    assert!(!ledger.is_empty(), "nothing sent after resume");
    assert!(ledger.iter().all(|e| e.at >= paused_until));
    assert_eq!(h.ledger_violations(), Vec::<String>::new());
}

async fn a_stale_expired_session_notice_does_not_undo_a_reconnect(kind: StoreKind) {
    let (h, _log, sender) = setup(kind, 1).await;
    let expired = |at| InboundEvent::AccountStatus {
        account: sender.clone(),
        status: plera_domain::ports::AccountStatusSignal::CredentialsExpired,
        at,
    };
    let observed = h.clock.now();
    h.engine
        .ingest(&h.workspace, expired(observed))
        .await
        .unwrap();
    let status = || async {
        h.engine
            .sender_status(&h.workspace, &sender)
            .await
            .unwrap()
            .status
    };
    assert_eq!(status().await, SenderStatus::NeedsReconnect);

    h.clock.advance_to(observed + Duration::hours(1));
    let link = h
        .engine
        .start_connection(&h.workspace, &OwnerId::new("owner"), Some(&sender))
        .await
        .unwrap();
    h.engine
        .complete_connection(
            &link.state,
            &ProviderAccountId::new("li-1"),
            london_sender(Limits {
                daily_invites: 20,
                daily_messages: 20,
                weekly_invites: 100,
            }),
        )
        .await
        .unwrap();
    assert_eq!(status().await, SenderStatus::Connected);

    // The provider redelivers the old notice: it is about the old session.
    h.clock.advance_to(observed + Duration::hours(2));
    h.engine
        .ingest(&h.workspace, expired(observed))
        .await
        .unwrap();
    assert_eq!(status().await, SenderStatus::Connected);
    // A new expiry still pauses the sender.
    h.engine
        .ingest(&h.workspace, expired(h.clock.now()))
        .await
        .unwrap();
    assert_eq!(status().await, SenderStatus::NeedsReconnect);
}

/// Both logs hold the same events (aggregate, sequence, payload) in the same order.
async fn assert_same_log(log: &Arc<dyn EventLog>, reference: &Arc<dyn EventLog>) {
    let shape = |events: Vec<plera_actors::store::StoredEvent>| {
        events
            .into_iter()
            .map(|e| (e.aggregate_type, e.aggregate_id, e.sequence, e.payload))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shape(log.read_after(0, usize::MAX).await.unwrap()),
        shape(reference.read_after(0, usize::MAX).await.unwrap())
    );
}

/// The inbound events of the group-commit test, in the order they are queued: a reply per lead,
/// a second reply of lead 0 (its sequence is stopped by the first: recorded, not a new stop), a
/// duplicate delivery, a message from someone in no sequence and its duplicate, an expired
/// session in the middle (its warning is recorded between the replies before and after it), and
/// an acceptance for a lead whose reply comes after it.
fn inbound_burst(
    sender: &plera_domain::ids::AccountId,
    leads: usize,
    at: chrono::DateTime<Utc>,
) -> Vec<InboundEvent> {
    let reply = |lead: String, id: &str| InboundEvent::MessageReceived {
        account: Some(sender.clone()),
        lead: LeadId::new(lead),
        channel: Channel::Linkedin,
        message_id: ProviderMessageId::new(id),
        text: "Thanks, let's talk".into(),
        at,
    };
    let mut burst = vec![InboundEvent::InviteAccepted {
        account: sender.clone(),
        lead: LeadId::new("l1"),
        at,
    }];
    for i in 0..leads {
        burst.push(reply(format!("l{i}"), &format!("r{i}")));
        if i == leads / 2 {
            burst.push(InboundEvent::AccountStatus {
                account: sender.clone(),
                status: plera_domain::ports::AccountStatusSignal::CredentialsExpired,
                at,
            });
        }
    }
    burst.push(reply("l0".into(), "r0-again"));
    burst.push(reply("l0".into(), "r0"));
    burst.push(reply("stranger".into(), "s1"));
    burst.push(reply("stranger".into(), "s1"));
    burst
}

async fn concurrent_inbound_events_share_commits_and_record_what_one_by_one_would(kind: StoreKind) {
    const LEADS: usize = 40;
    let (alone, alone_log, sender) = setup(kind, LEADS).await;
    let (together, together_log, _) = setup(kind, LEADS).await;
    let burst = inbound_burst(&sender, LEADS, alone.clock.now());

    let mut one_by_one = Vec::new();
    for event in burst.clone() {
        one_by_one.push(alone.engine.ingest(&alone.workspace, event).await);
    }
    let before = together.store_calls();
    let calls = burst
        .into_iter()
        .map(|event| together.engine.ingest(&together.workspace, event));
    let at_once = futures::future::join_all(calls).await;
    let spent = together.store_calls().since(&before);

    assert_eq!(at_once, one_by_one);
    use plera_actors::IngestOutcome as O;
    let count = |o: O| at_once.iter().filter(|a| **a == Ok(o.clone())).count();
    assert_eq!(count(O::Recorded), LEADS + 2, "{at_once:?}");
    assert_eq!(count(O::Duplicate), 2, "{at_once:?}");
    assert_eq!(count(O::SenderNotified), 1, "{at_once:?}");
    assert_eq!(count(O::NoSequence), 1, "{at_once:?}");
    // The same events in the same order, with fewer commits.
    assert_same_log(&together_log, &alone_log).await;
    assert!(
        spent.appends <= LEADS / 4,
        "{} appends for {} inbound events",
        spent.appends,
        LEADS + 6
    );
}

/// `ingest_all` (a poller's page): each event answered and recorded as one `ingest` call each
/// would, a refused event among them included, with one append per run of replies and
/// acceptances (the account status between them is its sender's own append).
async fn a_page_of_inbound_events_is_taken_in_order_with_a_commit_per_run(kind: StoreKind) {
    const LEADS: usize = 40;
    let (alone, alone_log, sender) = setup(kind, LEADS).await;
    let (together, together_log, _) = setup(kind, LEADS).await;
    let mut page = inbound_burst(&sender, LEADS, alone.clock.now());
    page.insert(
        3,
        InboundEvent::InviteAccepted {
            account: sender.clone(),
            lead: LeadId::new("no/such lead"),
            at: alone.clock.now(),
        },
    );

    let mut one_by_one = Vec::new();
    for event in page.clone() {
        one_by_one.push(alone.engine.ingest(&alone.workspace, event).await);
    }
    let before = together.store_calls();
    let answers = together.engine.ingest_all(&together.workspace, page).await;
    let spent = together.store_calls().since(&before);

    assert_eq!(answers, one_by_one);
    assert!(
        matches!(answers[3], Err(plera_actors::EngineError::InvalidInput(_))),
        "{:?}",
        answers[3]
    );
    assert_same_log(&together_log, &alone_log).await;
    // The replies and acceptances before the status, the status's warning, the rest.
    assert_eq!(
        spent.appends,
        3,
        "{} appends for {} events",
        spent.appends,
        answers.len()
    );
}
