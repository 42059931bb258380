//! An engine restarted on the same database carries on as if it had never stopped: after a clean
//! shutdown (quota use, pauses, due steps, unknown outcomes, rendered texts) and after crashes at
//! seeded points of the step protocol. SQLite and PostgreSQL only: a memory log dies with its
//! process.

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_actors::store::StoredEvent;
use plera_actors::SenderSettings;
use plera_domain::ids::{LeadId, SequenceId};
use plera_domain::lead::LeadSequence;
use plera_domain::ports::Clock;
use plera_domain::seed::SeededRng;
use plera_domain::sender::{PauseReason, SenderStatus};
use plera_domain::values::{Limits, Tier, WorkingHours};
use plera_tests::{
    gap_violations, log_violations, london_sender, mailbox, on_sql_stores, sent_vs_ledger,
    CrashPoint, CrashPoints, Harness, StoreKind,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap()
}

fn limits(daily_invites: u32, weekly_invites: u32) -> Limits {
    Limits {
        daily_invites,
        daily_messages: 30,
        weekly_invites,
    }
}

/// Sequences that have not completed or stopped.
fn open_sequences(events: &[StoredEvent]) -> BTreeSet<String> {
    let mut open = BTreeSet::new();
    for e in events
        .iter()
        .filter(|e| e.aggregate_type == "lead_sequence")
    {
        match e.event_type.as_str() {
            "SequenceCompleted" | "SequenceStopped" => {
                open.remove(&e.aggregate_id);
            }
            "SequenceStarted" => {
                open.insert(e.aggregate_id.clone());
            }
            _ => {}
        }
    }
    open
}

/// Every `StepOutcomeUnknown` must be followed, in its sequence, by the step's resolution: sent
/// (the provider had it) or failed (it had not). Returns the unresolved ones.
fn unresolved_unknowns(events: &[StoredEvent]) -> Vec<String> {
    let mut pending: BTreeMap<&str, u64> = BTreeMap::new();
    for e in events {
        match e.event_type.as_str() {
            "StepOutcomeUnknown" => {
                pending.insert(&e.aggregate_id, e.position);
            }
            "InviteSent" | "MessageSent" | "EmailSent" | "StepFailed" => {
                pending.remove(e.aggregate_id.as_str());
            }
            _ => {}
        }
    }
    pending
        .into_iter()
        .map(|(id, position)| format!("unknown outcome of {id} at {position} never resolved"))
        .collect()
}

/// The texts a lead's sent events carry must name that lead (its profile rendered them): profiles
/// must come back from the reopened database. Returns the mismatches.
fn texts_of_other_leads(events: &[StoredEvent]) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        let field = match e.event_type.as_str() {
            "InviteSent" => "note",
            "MessageSent" => "text",
            "EmailSent" => "subject",
            _ => continue,
        };
        // Leads are `{prefix}-{i}` with first name `Ada{i}`; sequence ids end in the lead id.
        let lead = e.aggregate_id.rsplit('/').next().unwrap_or_default();
        let i = lead.rsplit('-').next().unwrap_or_default();
        let text = e.payload.get(field).and_then(|v| v.as_str());
        let expected = format!("Ada{i}");
        let names_lead = text.is_some_and(|t| {
            t.match_indices(&expected)
                .any(|(at, _)| !t[at + expected.len()..].starts_with(|c: char| c.is_ascii_digit()))
        });
        if !names_lead {
            out.push(format!("{} of {lead} reads {text:?}", e.event_type));
        }
    }
    out
}

/// Crashes once, at the `nth` time `point` is reached after being armed.
struct OneShot {
    point: CrashPoint,
    nth: usize,
    armed: AtomicBool,
    seen: AtomicUsize,
}

impl CrashPoints for OneShot {
    fn crash_here(&self, point: CrashPoint) -> bool {
        if point != self.point || !self.armed.load(Ordering::SeqCst) {
            return false;
        }
        let crash = self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.nth;
        if crash {
            self.armed.store(false, Ordering::SeqCst);
        }
        crash
    }
}

/// Every lead's sequences, as the engine holds them.
async fn sequences(h: &Harness, leads: &[LeadId]) -> Vec<(SequenceId, LeadSequence)> {
    let mut all = Vec::new();
    for lead in leads {
        all.extend(
            h.engine
                .lead_sequences(&h.workspace, lead)
                .await
                .expect("sequences"),
        );
    }
    all
}

on_sql_stores!(a_restarted_engine_resumes_exactly_where_the_last_one_stopped);

async fn a_restarted_engine_resumes_exactly_where_the_last_one_stopped(kind: StoreKind) {
    let crash = Arc::new(OneShot {
        point: CrashPoint::AfterGatewayCall,
        nth: 6,
        armed: AtomicBool::new(false),
        seen: AtomicUsize::new(0),
    });
    let mut h = Harness::new(21, monday(), kind, Some(crash.clone())).await;
    let steady = h.connect("li-a", london_sender(limits(15, 80))).await;
    let held = h.connect("li-b", london_sender(limits(15, 80))).await;
    mailbox(&h).await;
    let c = h.campaign("steady", vec![steady.clone()]).await;
    h.enroll(&c, "steady", 60).await;
    let c = h.campaign("held", vec![held.clone()]).await;
    h.enroll(&c, "held", 20).await;
    let leads: Vec<LeadId> = (0..60)
        .map(|i| LeadId::new(format!("steady-{i}")))
        .chain((0..20).map(|i| LeadId::new(format!("held-{i}"))))
        .collect();

    // Tuesday mid-morning the user pauses one sender, which has started its leads by then.
    h.run_until(monday() + Duration::hours(28)).await;
    h.engine.pause_sender(&h.workspace, &held).await.unwrap();
    let paused_at = h.clock.now();
    assert!(h
        .ledger()
        .iter()
        .any(|e| e.account_id.as_ref() == Some(&held)));

    // Wednesday, a few steps into the day: the process dies between a gateway call and its
    // outcome, then is shut down and started again on the same database.
    h.run_until(monday() + Duration::hours(48)).await;
    crash.armed.store(true, Ordering::SeqCst);
    assert!(
        h.run_until_crash(monday() + Duration::hours(59)).await,
        "steps were due on Wednesday"
    );
    let usage_before = h.engine.sender_status(&h.workspace, &steady).await.unwrap();
    let held_before = h.engine.sender_status(&h.workspace, &held).await.unwrap();
    let sequences_before = sequences(&h, &leads).await;
    let before = h.events().await;
    let in_flight: BTreeSet<String> = {
        let mut last: BTreeMap<&str, &str> = BTreeMap::new();
        for e in &before {
            last.insert(&e.aggregate_id, &e.event_type);
        }
        last.into_iter()
            .filter(|(_, t)| *t == "StepStarted")
            .map(|(id, _)| id.to_string())
            .collect()
    };
    assert!(!in_flight.is_empty(), "the crash left a step in flight");
    let open_at_restart = open_sequences(&before);

    h.restart().await;

    // Same instant, new process: the same quota use, the same pause, the same sequences.
    let usage_after = h.engine.sender_status(&h.workspace, &steady).await.unwrap();
    assert!(
        usage_before.usage.is_some_and(|u| u.invites >= 5),
        "{usage_before:?}"
    );
    assert_eq!(usage_after.usage, usage_before.usage);
    assert_eq!(usage_after.status, usage_before.status);
    let held_after = h.engine.sender_status(&h.workspace, &held).await.unwrap();
    assert_eq!(
        held_after.status,
        SenderStatus::Paused {
            reason: PauseReason::User,
            until: None
        }
    );
    assert_eq!(held_after.status, held_before.status);
    assert_eq!(held_after.usage, held_before.usage);
    assert_eq!(sequences(&h, &leads).await, sequences_before);

    h.run_until(monday() + Duration::days(18)).await;

    let all = h.events().await;
    let after = &all[before.len()..];
    // The steps in flight were reconciled with the provider first, and nothing is unresolved.
    for id in &in_flight {
        let unknown = after
            .iter()
            .position(|e| &e.aggregate_id == id && e.event_type == "StepOutcomeUnknown");
        assert!(unknown.is_some(), "{id}: in-flight step not marked unknown");
    }
    assert_eq!(unresolved_unknowns(&all), Vec::<String>::new());
    // No lead lost: every sequence open at the restart has moved on since.
    let moved: BTreeSet<&str> = after.iter().map(|e| e.aggregate_id.as_str()).collect();
    let held_prefix = "ws/held/";
    for id in open_at_restart
        .iter()
        .filter(|id| !id.starts_with(held_prefix))
    {
        assert!(
            moved.contains(id.as_str()),
            "{id} did not progress after the restart"
        );
    }
    // The pause held: nothing of the paused sender reached LinkedIn, none of its leads started
    // a LinkedIn step (their emails go on: the mailbox is not paused).
    assert!(h
        .ledger()
        .iter()
        .all(|e| e.account_id.as_ref() != Some(&held) || e.at <= paused_at));
    assert!(
        !after.iter().any(|e| e.aggregate_id.starts_with(held_prefix)
            && e.event_type == "StepStarted"
            && e.payload["action"] != "email")
    );
    // Texts after the restart still come from each lead's own profile.
    assert_eq!(texts_of_other_leads(after), Vec::<String>::new());
    assert!(after.iter().any(|e| e.event_type == "InviteSent"));
    assert!(after.iter().any(|e| e.event_type == "EmailSent"));
    assert_eq!(h.ledger_violations(), Vec::<String>::new());
    assert_eq!(log_violations(&all), Vec::<String>::new());
    assert_eq!(sent_vs_ledger(&all, &h.ledger()), Vec::<String>::new());
    assert_eq!(gap_violations(&all), Vec::<String>::new());
    h.finish().await;
}

/// Crashes at each crash point with probability `p`, drawn from a seed: the same seed crashes
/// the same run at the same places.
struct SeededCrashes {
    rng: Mutex<SeededRng>,
    p: f64,
    crashed: [AtomicUsize; 2],
}

impl CrashPoints for SeededCrashes {
    fn crash_here(&self, point: CrashPoint) -> bool {
        let crash = self
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .chance(self.p);
        if crash {
            let i = usize::from(point == CrashPoint::AfterGatewayCall);
            self.crashed[i].fetch_add(1, Ordering::Relaxed);
        }
        crash
    }
}

/// The crash seed: `PLERA_CRASH_SEED` to explore others, a fixed one by default.
fn crash_seed() -> u64 {
    std::env::var("PLERA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20260302)
}

on_sql_stores!(killed_at_seeded_points_for_14_days_the_engine_loses_and_repeats_nothing);

async fn killed_at_seeded_points_for_14_days_the_engine_loses_and_repeats_nothing(kind: StoreKind) {
    let seed = crash_seed();
    let crash = Arc::new(SeededCrashes {
        rng: Mutex::new(SeededRng::new(seed, &["crash"])),
        p: 0.08,
        crashed: [AtomicUsize::new(0), AtomicUsize::new(0)],
    });
    let mut h = Harness::new(seed, monday(), kind, Some(crash.clone())).await;
    let london = h.connect("li-ldn", london_sender(limits(12, 60))).await;
    let new_york = h
        .connect(
            "li-nyc",
            SenderSettings {
                tier: Tier::Premium,
                limits: Some(limits(10, 50)),
                timezone: chrono_tz::America::New_York,
                working_hours: WorkingHours::parse("08:30", "18:00").expect("valid hours"),
                warm_up: false,
            },
        )
        .await;
    mailbox(&h).await;
    let shared = h
        .campaign("shared", vec![london.clone(), new_york.clone()])
        .await;
    h.enroll(&shared, "shared", 70).await;
    let solo = h.campaign("solo", vec![new_york.clone()]).await;
    h.enroll(&solo, "solo", 40).await;
    h.run_until(monday() + Duration::days(14)).await;

    let crashed: Vec<usize> = crash
        .crashed
        .iter()
        .map(|n| n.load(Ordering::Relaxed))
        .collect();
    let context = format!("crash seed {seed}, crashes {crashed:?}");
    assert!(
        crashed.iter().all(|n| *n >= 3),
        "{context}: both crash points must be hit"
    );
    assert_eq!(h.restarts, crashed.iter().sum::<usize>(), "{context}");
    let all = h.events().await;
    assert_eq!(h.ledger_violations(), Vec::<String>::new(), "{context}");
    assert_eq!(log_violations(&all), Vec::<String>::new(), "{context}");
    assert_eq!(
        sent_vs_ledger(&all, &h.ledger()),
        Vec::<String>::new(),
        "{context}"
    );
    assert_eq!(gap_violations(&all), Vec::<String>::new(), "{context}");
    assert_eq!(unresolved_unknowns(&all), Vec::<String>::new(), "{context}");
    assert_eq!(
        texts_of_other_leads(&all),
        Vec::<String>::new(),
        "{context}"
    );
    // The run did real work on both senders despite the crashes.
    for sender in [&london, &new_york] {
        let invites = h
            .ledger()
            .iter()
            .filter(|e| e.account_id.as_ref() == Some(sender))
            .count();
        assert!(invites >= 30, "{context}: {sender} sent only {invites}");
    }
    h.finish().await;
}
