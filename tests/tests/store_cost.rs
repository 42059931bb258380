//! A command costs the same whatever the history (DESIGN §7): the actors keep their aggregates
//! in memory, so after start-up nothing reloads a lead's or a sender's events. The log is wrapped
//! in a counting decorator; only start-up may read it, and that read grows with the history
//! while the work after it does not.

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_adapters::sandbox::SandboxConfig;
use plera_domain::values::Limits;
use plera_tests::{london_sender, mailbox, on_every_store, Harness, StoreCalls, StoreKind};

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap()
}

/// What the store was asked over `days` simulated days of work, with sender and driver commands
/// among the ticks.
async fn work_for(h: &mut Harness, days: i64) -> StoreCalls {
    let sender = h.engine.senders(&h.workspace)[0].clone();
    let before = h.store_calls();
    let start = h.now();
    // Commands of both actors: the sender's (pause, resume, new limits) and the driver's
    // (enrolment) are decided on the state in memory.
    h.engine.pause_sender(&h.workspace, &sender).await.unwrap();
    h.engine.resume_sender(&h.workspace, &sender).await.unwrap();
    h.engine
        .change_limits(&h.workspace, &sender, limits())
        .await
        .unwrap();
    let campaign = plera_domain::ids::CampaignId::new("cost");
    h.enroll(&campaign, &format!("late{}", h.restarts), 20)
        .await;
    h.run_until(start + Duration::days(days)).await;
    h.store_calls().since(&before)
}

fn limits() -> Limits {
    Limits {
        daily_invites: 20,
        daily_messages: 40,
        weekly_invites: 100,
    }
}

on_every_store!(after_start_up_no_command_reads_the_log_however_long_the_history);

async fn after_start_up_no_command_reads_the_log_however_long_the_history(kind: StoreKind) {
    // No expired sessions: a reconnect reads the workspace's pending connection requests, which
    // is not a lead's or a sender's history.
    let config = SandboxConfig {
        session_expiry_per_account_day: 0.0,
        ..SandboxConfig::seeded(17)
    };
    let mut h = Harness::with_world(config, monday(), kind, None).await;
    let sender = h.connect("li-1", london_sender(limits())).await;
    mailbox(&h).await;
    let c = h.campaign("cost", vec![sender.clone()]).await;
    h.enroll(&c, "cost", 150).await;

    // A short history, then a long one (several times the events): each time a restart reads
    // the log once, and the work after it reads nothing.
    h.run_until(monday() + Duration::days(1)).await;
    let mut start_up_reads = Vec::new();
    let mut history = Vec::new();
    for (days_before, days_measured) in [(0, 3), (14, 3)] {
        h.run_until(h.now() + Duration::days(days_before)).await;
        history.push(h.events().await.len());
        let before = h.store_calls();
        h.restart().await;
        start_up_reads.push(h.store_calls().since(&before).events_read);
        h.tick_calls = Default::default();

        let calls = work_for(&mut h, days_measured).await;
        assert!(
            calls.appends > 10,
            "{kind:?}: the window did work: {calls:?}"
        );
        assert_eq!(calls.loads, Vec::<(String, String)>::new(), "{kind:?}");
        assert_eq!(calls.reads, 0, "{kind:?}: {calls:?}");
        assert_eq!(calls.events_read, 0, "{kind:?}: {calls:?}");
        assert_eq!(calls.sender_actions, 0, "{kind:?}: {calls:?}");
        // Group commits: a tick appends a bounded number of times, however much is due.
        assert!(h.tick_calls.ticks > 10, "{:?}", h.tick_calls);
        assert!(h.tick_calls.max_appends <= 3, "{:?}", h.tick_calls);
    }
    assert!(history[1] >= 3 * history[0], "history grew: {history:?}");
    // Start-up does read the whole log: the counter sees reads when there are any.
    assert!(start_up_reads[0] >= history[0], "{start_up_reads:?}");
    assert!(start_up_reads[1] >= history[1], "{start_up_reads:?}");
    h.finish().await;
}

/// The counter sees every way in: a clustered engine's conditional appends and a view runner's
/// reads as text count as appends and reads.
#[tokio::test]
async fn conditional_appends_and_reads_as_text_are_counted() {
    use plera_actors::store::{EventLog, MemoryEventLog, NewEvent};
    use plera_tests::CountingLog;
    use std::sync::{Arc, Mutex};

    let calls = Arc::new(Mutex::new(StoreCalls::default()));
    let log: Arc<dyn EventLog> = Arc::new(CountingLog::new(
        Arc::new(MemoryEventLog::new()),
        calls.clone(),
    ));
    let noted = |sequence| NewEvent {
        aggregate_type: "Note".into(),
        aggregate_id: "n-1".into(),
        sequence,
        event_type: "Noted".into(),
        event_version: "1".into(),
        payload: Default::default(),
    };
    log.append(vec![noted(1)]).await.unwrap();
    log.append_if(vec![noted(2), noted(3)], &[]).await.unwrap();
    assert_eq!(log.read_text_after(0, 10).await.unwrap().len(), 3);
    let counted = calls.lock().unwrap().clone();
    assert_eq!((counted.appends, counted.appended_events), (2, 3));
    assert_eq!((counted.reads, counted.events_read), (1, 3));
}
