//! `plera audit`: it passes on a simulated log (and its ledger), and it fails on copies of that
//! log doctored to break each invariant of DESIGN §5, and on doctored ledgers. Each doctored log
//! breaks one invariant only, and the audit must name that one and no other. Invariants 7 and 8
//! are about the views: doctored view tables break them (a reply missing from the inbox is both
//! a broken inbox and a view that differs from its rebuild), and a duplicate delivery in the log
//! changes nothing.

mod cli_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::DomainEvent;
use plera_actors::store::NewEvent;
use plera_adapters::store::open_store;
use plera_domain::ids::{
    AccountId, CampaignId, LeadId, MailboxId, OwnerId, ProviderAccountId, ProviderMessageId,
    WorkspaceId,
};
use plera_domain::lead::{LeadSequenceEvent, StopReason};
use plera_domain::sender::{PauseReason, SenderAccountEvent};
use plera_domain::values::{Action, Channel, ConnectionDegree, Limits, Tier, WorkingHours};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cli_support::{block_on, export, json_of, plera, scratch, simulate, sqlite_exec, url, SMALL};

/// The simulated database and ledger every test starts from (made once per test binary).
fn base() -> &'static (PathBuf, PathBuf) {
    static BASE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = scratch("cli_audit_base");
        let (db, ledger) = (dir.join("base.db"), dir.join("base.ledger"));
        let ledger_arg = ledger.display().to_string();
        let mut flags: Vec<&str> = SMALL.to_vec();
        flags.extend_from_slice(&[
            "--faults",
            "0.05",
            "--crashes",
            "1",
            "--ledger",
            &ledger_arg,
        ]);
        simulate(&db, &flags);
        (db, ledger)
    })
}

/// A copy of the base database in `dir`.
fn copy_of_base(dir: &Path) -> PathBuf {
    let (db, _) = base();
    let copy = dir.join("doctored.db");
    std::fs::copy(db, &copy).expect("copy the database");
    for suffix in ["-wal", "-shm"] {
        let mut from = db.clone().into_os_string();
        from.push(suffix);
        if Path::new(&from).exists() {
            let mut to = copy.clone().into_os_string();
            to.push(suffix);
            std::fs::copy(&from, &to).expect("copy the WAL");
        }
    }
    copy
}

/// Runs `plera audit --json` and returns (exit code, the report).
fn audit(db: &Path, ledger: Option<&Path>) -> (Option<i32>, Value) {
    let u = url(db);
    let mut args = vec!["audit", "--json", "--db", u.as_str()];
    let ledger_arg = ledger.map(|l| l.display().to_string());
    if let Some(l) = &ledger_arg {
        args.extend_from_slice(&["--ledger", l]);
    }
    let run = plera(&args);
    (run.code, run.json())
}

/// The invariants and rules a report names.
fn broken(report: &Value) -> (BTreeSet<u64>, Vec<String>) {
    let violations = report["violations"].as_array().expect("violations");
    (
        violations
            .iter()
            .map(|v| v["invariant"].as_u64().expect("invariant"))
            .collect(),
        violations
            .iter()
            .map(|v| v["rule"].as_str().expect("rule").to_string())
            .collect(),
    )
}

/// Asserts the audit fails on exactly `invariant` and returns the rules it names.
fn fails_on(db: &Path, ledger: Option<&Path>, invariant: u64) -> Vec<String> {
    let (code, report) = audit(db, ledger);
    assert_eq!(code, Some(1), "the audit must fail: {report}");
    assert_eq!(report["passed"], Value::Bool(false));
    let (invariants, rules) = broken(&report);
    assert_eq!(invariants, BTreeSet::from([invariant]), "{report:#}");
    rules
}

// ---------------------------------------------------------------------------------------------
// Crafting events.

/// A Monday after the base simulation's end (it starts Monday 2 March 2026 and runs 5 days).
fn at(day: i64, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 16, hour, minute, 0).unwrap() + Duration::days(day)
}

/// Events appended to a copy of the base database in one batch, each on a new aggregate.
struct Doctor {
    path: PathBuf,
    events: Vec<NewEvent>,
    versions: HashMap<String, u64>,
}

impl Doctor {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            events: Vec::new(),
            versions: HashMap::new(),
        }
    }

    fn push(&mut self, aggregate_type: &str, id: &str, event_type: String, payload: Value) {
        let n = self.versions.entry(id.to_string()).or_default();
        *n += 1;
        self.events.push(NewEvent {
            aggregate_type: aggregate_type.into(),
            aggregate_id: id.into(),
            sequence: *n,
            event_type,
            event_version: "1".into(),
            payload,
        });
    }

    fn sender(&mut self, id: &str, event: SenderAccountEvent) -> &mut Self {
        let payload = serde_json::to_value(&event).unwrap();
        self.push("sender_account", id, event.event_type(), payload);
        self
    }

    fn lead(&mut self, id: &str, event: LeadSequenceEvent) -> &mut Self {
        let payload = serde_json::to_value(&event).unwrap();
        self.push("lead_sequence", id, event.event_type(), payload);
        self
    }

    /// A sender in UTC working 09:00–17:00, connected on day 0 at 08:00.
    fn connect(&mut self, account: &str, tier: Tier, limits: Limits) -> &mut Self {
        self.sender(
            account,
            SenderAccountEvent::AccountConnected {
                workspace_id: WorkspaceId::new("ws-sim"),
                account_id: AccountId::new(account),
                provider_account_id: ProviderAccountId::new(format!("li-{account}")),
                owner: OwnerId::new("doctor"),
                tier,
                limits,
                timezone: chrono_tz::UTC,
                working_hours: WorkingHours::parse("09:00", "17:00").unwrap(),
                warm_up: false,
                at: at(0, 8, 0),
            },
        )
    }

    /// A sequence of `lead` with `account`, enrolled on day 0 at 08:30.
    fn start(&mut self, lead: &str, account: &str, degree: ConnectionDegree) -> String {
        let id = format!("ws-sim/camp-1/{lead}");
        self.lead(
            &id,
            LeadSequenceEvent::SequenceStarted {
                workspace_id: WorkspaceId::new("ws-sim"),
                lead_id: LeadId::new(lead),
                campaign_id: CampaignId::new("camp-1"),
                play: "linkedin-first".into(),
                account_id: AccountId::new(account),
                mailbox_id: Some(MailboxId::new("mb-1")),
                connection_degree: degree,
                email_known: true,
                at: at(0, 8, 30),
            },
        );
        id
    }

    fn step(&mut self, seq: &str, step: u32, action: Action, account: &str, when: DateTime<Utc>) {
        let linkedin = action.is_linkedin();
        self.lead(
            seq,
            LeadSequenceEvent::StepStarted {
                step,
                action,
                account_id: linkedin.then(|| AccountId::new(account)),
                mailbox_id: (!linkedin).then(|| MailboxId::new("mb-1")),
                at: when,
            },
        );
    }

    /// Appends everything in one commit and closes the store.
    fn commit(&mut self) {
        let events = std::mem::take(&mut self.events);
        let u = url(&self.path);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let store = open_store(&u).await.expect("open the copy");
                // The doctored aggregates must be new: their sequences start at 1.
                store.event_log().append(events).await.expect("append");
                store.close().await;
            });
    }
}

fn limits(daily_invites: u32, daily_messages: u32, weekly_invites: u32) -> Limits {
    Limits {
        daily_invites,
        daily_messages,
        weekly_invites,
    }
}

fn doctor() -> (tempfile::TempDir, Doctor) {
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_of_base(dir.path());
    (dir, Doctor::new(copy))
}

// ---------------------------------------------------------------------------------------------
// The simulated log passes.

#[test]
fn the_simulated_log_and_its_ledger_pass_the_audit() {
    let (db, ledger) = base();
    for with_ledger in [None, Some(ledger.as_path())] {
        let (code, report) = audit(db, with_ledger);
        assert_eq!(code, Some(0), "{report:#}");
        assert_eq!(report["passed"], Value::Bool(true));
        assert_eq!(report["violations"], Value::Array(vec![]));
        let events = export(db, "jsonl").lines().count() as u64;
        assert_eq!(report["events"], Value::from(events));
    }
    let (_, report) = audit(db, Some(ledger));
    // The views were judged over the whole log: the simulation kept them current.
    assert_eq!(report["views_position"], report["events"]);
    let lines = std::fs::read_to_string(ledger).unwrap().lines().count() as u64;
    assert!(lines > 100, "the ledger holds the provider's actions");
    assert_eq!(report["ledger_entries"], Value::from(lines));

    // The human form says so on stderr and leaves stdout empty.
    let run = plera(&["audit", "--db", &url(db)]);
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("audit passed"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// One doctored log per invariant.

#[test]
fn invariant_1_more_invites_than_the_daily_or_rolling_weekly_limit() {
    let (_dir, mut d) = doctor();
    d.connect("doc-a", Tier::Premium, limits(2, 10, 50));
    for i in 0..3 {
        let seq = d.start(&format!("daily-{i}"), "doc-a", ConnectionDegree::Second);
        d.step(&seq, 0, Action::Invite, "doc-a", at(0, 10, 10 * i));
    }
    d.connect("doc-b", Tier::Premium, limits(10, 10, 3));
    for i in 0..4 {
        let seq = d.start(&format!("weekly-{i}"), "doc-b", ConnectionDegree::Second);
        d.step(&seq, 0, Action::Invite, "doc-b", at(i.into(), 10, 0));
    }
    d.commit();
    let rules = fails_on(&d.path, None, 1);
    assert_eq!(rules, vec!["daily_invites", "weekly_invites"]);
}

#[test]
fn invariant_1_more_messages_than_the_daily_limit() {
    let (_dir, mut d) = doctor();
    d.connect("doc-m", Tier::Premium, limits(10, 1, 50));
    for i in 0..2 {
        let seq = d.start(&format!("msg-{i}"), "doc-m", ConnectionDegree::First);
        d.step(&seq, 2, Action::Message, "doc-m", at(0, 11, 10 * i));
    }
    d.commit();
    assert_eq!(fails_on(&d.path, None, 1), vec!["daily_messages"]);
}

#[test]
fn invariant_2_an_action_outside_working_hours_or_while_paused() {
    let (_dir, mut d) = doctor();
    d.connect("doc-c", Tier::Premium, limits(10, 10, 50));
    let late = d.start("late", "doc-c", ConnectionDegree::Second);
    d.step(&late, 0, Action::Invite, "doc-c", at(0, 20, 0));
    d.sender(
        "doc-c",
        SenderAccountEvent::SendingPaused {
            reason: PauseReason::RateLimited,
            until: Some(at(1, 15, 0)),
            at: at(1, 11, 0),
        },
    );
    let paused = d.start("paused", "doc-c", ConnectionDegree::Second);
    d.step(&paused, 0, Action::Invite, "doc-c", at(1, 11, 30));
    // After the pause's own end: allowed, even before a SendingResumed is recorded.
    let after = d.start("after", "doc-c", ConnectionDegree::Second);
    d.step(&after, 0, Action::Invite, "doc-c", at(1, 16, 0));
    d.commit();
    assert_eq!(
        fails_on(&d.path, None, 2),
        vec!["outside_working_hours", "while_paused"]
    );
}

#[test]
fn invariant_3_a_step_after_a_reply_or_a_stop_and_a_reply_without_its_stop() {
    let (_dir, mut d) = doctor();
    d.connect("doc-d", Tier::Premium, limits(10, 10, 50));
    let replied = d.start("replied", "doc-d", ConnectionDegree::Second);
    d.lead(
        &replied,
        LeadSequenceEvent::ReplyReceived {
            channel: Channel::Linkedin,
            message_id: ProviderMessageId::new("doc-reply"),
            text: "Sounds good".into(),
            at: at(0, 12, 0),
        },
    );
    d.step(&replied, 0, Action::Invite, "doc-d", at(0, 12, 30));
    let stopped = d.start("stopped", "doc-d", ConnectionDegree::Second);
    d.lead(
        &stopped,
        LeadSequenceEvent::SequenceStopped {
            reason: StopReason::Manual,
            at: at(0, 11, 0),
        },
    );
    d.step(&stopped, 0, Action::Invite, "doc-d", at(0, 11, 30));
    d.commit();
    let mut rules = fails_on(&d.path, None, 3);
    rules.sort();
    assert_eq!(
        rules,
        vec!["reply_not_stopped", "step_after_stop", "step_after_stop"]
    );
}

#[test]
fn invariant_4_a_message_to_a_lead_neither_accepted_nor_first_degree() {
    let (_dir, mut d) = doctor();
    d.connect("doc-e", Tier::Premium, limits(10, 10, 50));
    let stranger = d.start("stranger", "doc-e", ConnectionDegree::Second);
    let friend = d.start("friend", "doc-e", ConnectionDegree::First);
    let accepted = d.start("accepted", "doc-e", ConnectionDegree::Third);
    d.lead(
        &accepted,
        LeadSequenceEvent::InviteAccepted { at: at(0, 9, 0) },
    );
    for (i, seq) in [&stranger, &friend, &accepted].into_iter().enumerate() {
        let when = at(0, 10, 10 * i as u32);
        d.step(seq, 2, Action::Message, "doc-e", when);
        d.lead(
            seq,
            LeadSequenceEvent::MessageSent {
                step: 2,
                account_id: AccountId::new("doc-e"),
                text: "Thanks for connecting".into(),
                at: when,
            },
        );
    }
    d.commit();
    assert_eq!(fails_on(&d.path, None, 4), vec!["message_not_connected"]);
}

#[test]
fn invariant_5_a_second_invite_and_a_send_recorded_twice() {
    let (_dir, mut d) = doctor();
    d.connect("doc-f", Tier::Premium, limits(10, 10, 50));
    let twice = d.start("twice", "doc-f", ConnectionDegree::Second);
    for step in [0, 1] {
        d.step(&twice, step, Action::Invite, "doc-f", at(0, 10, step * 10));
        d.lead(
            &twice,
            LeadSequenceEvent::InviteSent {
                step,
                account_id: AccountId::new("doc-f"),
                note: None,
                at: at(0, 10, step * 10),
            },
        );
    }
    let mail = d.start("mail", "doc-f", ConnectionDegree::Second);
    d.step(&mail, 1, Action::Email, "doc-f", at(0, 11, 0));
    for _ in 0..2 {
        d.lead(
            &mail,
            LeadSequenceEvent::EmailSent {
                step: 1,
                mailbox: MailboxId::new("mb-1"),
                subject: "Quick question".into(),
                body: "Hi".into(),
                at: at(0, 11, 0),
            },
        );
    }
    d.commit();
    assert_eq!(
        fails_on(&d.path, None, 5),
        vec!["second_invite", "side_effect_twice"]
    );
}

#[test]
fn invariant_6_invite_notes_longer_than_the_tier_allows() {
    let (_dir, mut d) = doctor();
    d.connect("doc-free", Tier::Free, Tier::Free.default_limits());
    d.connect("doc-prem", Tier::Premium, Tier::Premium.default_limits());
    let cases = [
        ("free-ok", "doc-free", 200),
        ("free-long", "doc-free", 201),
        ("prem-ok", "doc-prem", 300),
        ("prem-long", "doc-prem", 301),
    ];
    for (i, (lead, account, len)) in cases.into_iter().enumerate() {
        let seq = d.start(lead, account, ConnectionDegree::Second);
        let when = at(0, 10, 10 * i as u32);
        d.step(&seq, 0, Action::Invite, account, when);
        d.lead(
            &seq,
            LeadSequenceEvent::InviteSent {
                step: 0,
                account_id: AccountId::new(account),
                // Multi-byte characters: the limit counts characters, not bytes.
                note: Some("é".repeat(len)),
                at: when,
            },
        );
    }
    d.commit();
    assert_eq!(
        fails_on(&d.path, None, 6),
        vec!["note_too_long", "note_too_long"]
    );
}

#[test]
fn an_event_that_is_not_what_its_type_says_is_reported_as_unreadable() {
    let (_dir, mut d) = doctor();
    d.push(
        "lead_sequence",
        "ws-sim/camp-1/garbled",
        "StepStarted".into(),
        serde_json::json!({"type": "StepStarted", "step": "first"}),
    );
    d.commit();
    assert_eq!(fails_on(&d.path, None, 0), vec!["unreadable"]);
}

// ---------------------------------------------------------------------------------------------
// Doctored ledgers (invariant 5 against the provider's record).

/// The base ledger's lines, and the index of its first email line.
fn ledger_lines() -> (Vec<String>, usize) {
    let (_, ledger) = base();
    let lines: Vec<String> = std::fs::read_to_string(ledger)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let email = lines
        .iter()
        .position(|l| l.contains("\"action\":\"email\""))
        .expect("the base ledger has emails");
    (lines, email)
}

fn write_ledger(dir: &Path, lines: &[String]) -> PathBuf {
    let path = dir.join("doctored.ledger");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn a_ledger_with_an_action_performed_twice_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (mut lines, email) = ledger_lines();
    lines.push(lines[email].clone());
    let ledger = write_ledger(dir.path(), &lines);
    assert_eq!(
        fails_on(&base().0, Some(&ledger), 5),
        vec!["ledger_duplicate"]
    );
}

#[test]
fn a_ledger_missing_a_send_the_log_records_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (mut lines, email) = ledger_lines();
    lines.remove(email);
    let ledger = write_ledger(dir.path(), &lines);
    assert_eq!(fails_on(&base().0, Some(&ledger), 5), vec!["not_in_ledger"]);
}

#[test]
fn a_ledger_action_the_log_does_not_record_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (mut lines, email) = ledger_lines();
    let mut entry: Value = serde_json::from_str(&lines[email]).unwrap();
    entry["key"] = Value::from("ws-sim/camp-1/nobody#0");
    lines.push(entry.to_string());
    let ledger = write_ledger(dir.path(), &lines);
    assert_eq!(
        fails_on(&base().0, Some(&ledger), 5),
        vec!["ledger_unrecorded"]
    );
}

#[test]
fn a_malformed_ledger_is_one_line_error_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = write_ledger(dir.path(), &["{\"at\": 1}".to_string()]);
    let run = plera(&[
        "audit",
        "--db",
        &url(&base().0),
        "--ledger",
        &ledger.display().to_string(),
    ]);
    let line = run.one_line_failure();
    assert!(line.contains("line 1 is not a ledger entry"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// Doctored views (invariants 7 and 8).

/// A copy of the base database with `sql` run on it behind plera's back.
fn doctored_views(sql: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_of_base(dir.path());
    sqlite_exec(&copy, sql);
    (dir, copy)
}

/// Asserts the audit fails on exactly `invariants` and returns the rules it names, sorted and
/// without repeats.
fn fails_on_all(db: &Path, invariants: &[u64]) -> Vec<String> {
    let (code, report) = audit(db, None);
    assert_eq!(code, Some(1), "the audit must fail: {report}");
    let (found, rules) = broken(&report);
    assert_eq!(found, invariants.iter().copied().collect(), "{report:#}");
    let rules: BTreeSet<String> = rules.into_iter().collect();
    rules.into_iter().collect()
}

/// The first inbound message of the base inbox, by log position.
const FIRST_INBOUND: &str = "(SELECT rowid FROM inbox_messages WHERE direction = 'inbound' \
                             ORDER BY position LIMIT 1)";

#[test]
fn invariant_7_a_reply_missing_from_the_inbox() {
    let (_dir, db) = doctored_views(&format!(
        "DELETE FROM inbox_messages WHERE rowid = {FIRST_INBOUND}"
    ));
    // The live inbox lost a reply, so it also differs from its rebuild.
    assert_eq!(
        fails_on_all(&db, &[7, 8]),
        vec!["reply_not_in_inbox", "view_differs"]
    );
}

#[test]
fn invariant_7_a_reply_shown_twice() {
    let (_dir, db) = doctored_views(&format!(
        "INSERT INTO inbox_messages SELECT workspace_id, message_key || '-again', lead_id, \
         account_id, campaign_id, sequence_id, position, at, direction, channel, kind, subject, \
         text FROM inbox_messages WHERE rowid = {FIRST_INBOUND}"
    ));
    assert_eq!(
        fails_on_all(&db, &[7, 8]),
        vec!["reply_twice_in_inbox", "view_differs"]
    );
}

#[test]
fn invariant_7_a_thread_counting_a_reply_twice() {
    let (_dir, db) = doctored_views(
        "UPDATE inbox_threads SET inbound = inbound + 1, unread = unread + 1 WHERE rowid = \
         (SELECT rowid FROM inbox_threads WHERE inbound > 0 ORDER BY lead_id LIMIT 1)",
    );
    assert_eq!(
        fails_on_all(&db, &[7, 8]),
        vec!["inbox_counts", "view_differs"]
    );
}

#[test]
fn invariant_7_a_logged_reply_that_no_inbox_thread_can_hold() {
    // A reply (with its stop) on a sequence the log never started: the views have nowhere to
    // put it, so the inbox misses a reply the log records, and only invariant 7 breaks.
    let (_dir, mut d) = doctor();
    let ghost = "ws-sim/camp-1/ghost";
    d.lead(
        ghost,
        LeadSequenceEvent::ReplyReceived {
            channel: Channel::Linkedin,
            message_id: ProviderMessageId::new("ghost-reply"),
            text: "Who is this?".into(),
            at: at(0, 12, 0),
        },
    )
    .lead(
        ghost,
        LeadSequenceEvent::SequenceStopped {
            reason: StopReason::Replied,
            at: at(0, 12, 0),
        },
    );
    d.commit();
    // Beyond the views' checkpoint the audit does not judge them; a reading command catches up.
    let (code, report) = audit(&d.path, None);
    assert_eq!(code, Some(0), "{report:#}");
    assert!(report["views_position"].as_u64() < report["events"].as_u64());
    json_of(&url(&d.path), &["inbox"]);
    assert_eq!(fails_on(&d.path, None, 7), vec!["reply_not_in_inbox"]);
}

#[test]
fn invariant_8_a_view_row_that_differs_from_its_rebuild() {
    let (_dir, db) = doctored_views(
        "UPDATE funnel_campaigns SET invited = invited + 1 WHERE campaign_id = \
         (SELECT MIN(campaign_id) FROM funnel_campaigns)",
    );
    assert_eq!(fails_on_all(&db, &[8]), vec!["view_differs"]);
    let (_, report) = audit(&db, None);
    let message = report["violations"][0]["message"].as_str().unwrap();
    assert!(message.contains("differs in invited"), "{message}");
    assert_eq!(report["violations"][0]["subject"], "funnel_campaigns");

    // A sender's row too: the accounts view is judged as well.
    let (_dir, db) = doctored_views("UPDATE sender_health SET invites_today = invites_today + 1");
    assert_eq!(fails_on_all(&db, &[8]), vec!["view_differs"]);
}

#[test]
fn a_duplicate_delivery_changes_nothing_in_the_views_and_the_audit_passes() {
    let dir = tempfile::tempdir().unwrap();
    let db = copy_of_base(dir.path());
    let u = url(&db);
    let before: Vec<String> = ["inbox", "funnel", "accounts"]
        .iter()
        .map(|cmd| json_of(&u, &[cmd]))
        .collect();

    // The provider delivers a reply again: the same message id, recorded again with its stop.
    let log: Vec<Value> = export(&db, "jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reply = log
        .iter()
        .find(|e| e["event_type"] == "ReplyReceived")
        .expect("the base log has a reply");
    let id = reply["aggregate_id"].as_str().unwrap().to_string();
    let last = log
        .iter()
        .filter(|e| e["aggregate_id"] == id.as_str())
        .map(|e| e["sequence"].as_u64().unwrap())
        .max()
        .unwrap();
    let mut stop = serde_json::json!({"type": "SequenceStopped", "reason": "replied"});
    stop["at"] = reply["payload"]["at"].clone();
    let again = vec![
        NewEvent {
            aggregate_type: "lead_sequence".into(),
            aggregate_id: id.clone(),
            sequence: last + 1,
            event_type: "ReplyReceived".into(),
            event_version: "1".into(),
            payload: reply["payload"].clone(),
        },
        NewEvent {
            aggregate_type: "lead_sequence".into(),
            aggregate_id: id,
            sequence: last + 2,
            event_type: "SequenceStopped".into(),
            event_version: "1".into(),
            payload: stop,
        },
    ];
    block_on(async {
        let store = open_store(&u).await.expect("open the copy");
        store.event_log().append(again).await.expect("append");
        store.close().await;
    });

    let after: Vec<String> = ["inbox", "funnel", "accounts"]
        .iter()
        .map(|cmd| json_of(&u, &[cmd]))
        .collect();
    assert_eq!(after, before, "a duplicate delivery changed a view");
    let (code, report) = audit(&db, None);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["views_position"], report["events"]);
    assert_eq!(report["events"], Value::from(log.len() as u64 + 2));
}
