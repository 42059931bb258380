//! `plera replay`, `inbox`, `accounts` and `funnel` as an analyst runs them: the JSON shapes,
//! the filters, counts that agree with the log, views caught up before they are read, `replay`
//! changing nothing that is read, and one-line refusals of missing or empty databases.

mod cli_support;

use cli_support::{export, json_of, plera, scratch, simulate, sqlite_exec, url, SMALL};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A small simulation (with faults and a crash: the views follow restarts too), made once.
fn base() -> &'static PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let db = scratch("cli_views_base").join("base.db");
        let mut flags: Vec<&str> = SMALL.to_vec();
        flags.extend_from_slice(&["--seed", "5", "--faults", "0.05", "--crashes", "1"]);
        simulate(&db, &flags);
        db
    })
}

/// A copy of the base database (with its WAL) in `dir`.
fn copy_of_base(dir: &Path) -> PathBuf {
    let copy = dir.join("copy.db");
    for suffix in ["", "-wal", "-shm"] {
        let mut from = base().clone().into_os_string();
        from.push(suffix);
        if Path::new(&from).exists() {
            let mut to = copy.clone().into_os_string();
            to.push(suffix);
            std::fs::copy(&from, &to).expect("copy the database");
        }
    }
    copy
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

/// The log's events as parsed export lines.
fn events(db: &Path) -> Vec<Value> {
    export(db, "jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn replay_leaves_what_inbox_accounts_and_funnel_print_unchanged_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = copy_of_base(dir.path());
    let u = url(&db);
    let reads = [&["inbox"][..], &["accounts"], &["funnel"]];
    let before: Vec<String> = reads.iter().map(|cmd| json_of(&u, cmd)).collect();

    let counts = parsed(&json_of(&u, &["replay"]));
    let views = counts.as_array().expect("counts per view");
    let names: Vec<&str> = views.iter().map(|v| v["view"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["inbox", "senders", "funnel"]);
    let end = events(&db).len() as u64;
    for view in views {
        assert_eq!(view["position"], Value::from(end), "{view}");
        assert!(view["rows"].as_object().is_some_and(|r| !r.is_empty()));
    }
    assert!(views[0]["rows"]["inbox_messages"].as_u64().unwrap() > 100);

    let after: Vec<String> = reads.iter().map(|cmd| json_of(&u, cmd)).collect();
    for ((cmd, a), b) in reads.iter().zip(&before).zip(&after) {
        assert!(a == b, "{cmd:?} changed after replay");
    }

    // The human form: a table and a summary on stderr, nothing on stdout.
    let run = plera(&["replay", "--db", &u]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("inbox_threads") && run.stderr.contains("rebuilt 3 views"),
        "{}",
        run.stderr
    );
    let again: Vec<String> = reads.iter().map(|cmd| json_of(&u, cmd)).collect();
    assert_eq!(again, before);
}

#[test]
fn the_inbox_json_has_the_contract_shape_and_every_reply_once() {
    let u = url(base());
    let inbox = parsed(&json_of(&u, &["inbox"]));
    let threads = inbox.as_array().expect("an array of threads");
    assert!(threads.len() > 100, "{} threads", threads.len());
    let thread_keys = set(&["lead_id", "account_id", "campaign_id", "unread", "messages"]);
    let message_keys = set(&["direction", "channel", "at", "text"]);
    let mut inbound: BTreeMap<(String, String), usize> = BTreeMap::new();
    for t in threads {
        assert_eq!(keys(t), thread_keys, "{t}");
        let messages = t["messages"].as_array().expect("messages");
        assert!(!messages.is_empty());
        let mut last = None;
        let mut unread_at_most = 0;
        for m in messages {
            assert_eq!(keys(m), message_keys, "{m}");
            assert!(["inbound", "outbound"].contains(&m["direction"].as_str().unwrap()));
            assert!(["linkedin", "email"].contains(&m["channel"].as_str().unwrap()));
            let at =
                chrono::DateTime::parse_from_rfc3339(m["at"].as_str().unwrap()).expect("RFC 3339");
            assert!(last <= Some(at), "oldest first: {t}");
            last = Some(at);
            if m["direction"] == "inbound" {
                unread_at_most += 1;
                let lead = t["lead_id"].as_str().unwrap().to_string();
                let text = m["text"].as_str().unwrap().to_string();
                *inbound.entry((lead, text)).or_default() += 1;
            }
        }
        assert!(t["unread"].as_u64().unwrap() <= unread_at_most);
    }

    // Every reply, out-of-office answer and inbound message of the log shows once (duplicate
    // deliveries share their message id), in its lead's thread.
    let mut lead_of: BTreeMap<String, String> = BTreeMap::new();
    let mut delivered: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for e in events(base()) {
        let id = e["aggregate_id"].as_str().unwrap().to_string();
        let p = &e["payload"];
        let text = || p["text"].as_str().unwrap().to_string();
        let message = || {
            format!(
                "{}/{}",
                p["channel"].as_str().unwrap(),
                p["message_id"].as_str().unwrap()
            )
        };
        match e["event_type"].as_str().unwrap() {
            "SequenceStarted" => {
                lead_of.insert(id, p["lead_id"].as_str().unwrap().to_string());
            }
            "ReplyReceived" | "OutOfOfficeReceived" => {
                let lead = lead_of[&id].clone();
                delivered
                    .entry((lead.clone(), message()))
                    .or_insert((lead, text()));
            }
            "InboundMessageReceived" => {
                let lead = p["lead_id"].as_str().unwrap().to_string();
                delivered
                    .entry((lead.clone(), message()))
                    .or_insert((lead, text()));
            }
            _ => {}
        }
    }
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (lead, text) in delivered.into_values() {
        *expected.entry((lead, text)).or_default() += 1;
    }
    assert!(expected.len() >= 5, "the small run has replies");
    assert_eq!(inbound, expected);
}

#[test]
fn inbox_filters_by_account_unread_and_limit() {
    let u = url(base());
    let all = parsed(&json_of(&u, &["inbox"]));
    let all = all.as_array().unwrap();

    let first = parsed(&json_of(&u, &["inbox", "--limit", "5"]));
    assert_eq!(
        first.as_array().unwrap().as_slice(),
        &all[..5],
        "newest first"
    );

    let account = all[0]["account_id"].as_str().unwrap().to_string();
    let mine = parsed(&json_of(&u, &["inbox", "--account", &account]));
    let mine = mine.as_array().unwrap();
    let expected: Vec<&Value> = all.iter().filter(|t| t["account_id"] == account).collect();
    assert_eq!(mine.iter().collect::<Vec<_>>(), expected);
    assert!(mine.len() < all.len(), "another sender has threads too");

    let unread = parsed(&json_of(&u, &["inbox", "--unread"]));
    let unread = unread.as_array().unwrap();
    let expected: Vec<&Value> = all
        .iter()
        .filter(|t| t["unread"].as_u64().unwrap() > 0)
        .collect();
    assert!(!expected.is_empty(), "the replies are unread");
    assert_eq!(unread.iter().collect::<Vec<_>>(), expected);

    let nobody = parsed(&json_of(&u, &["inbox", "--account", "acc-nobody"]));
    assert_eq!(nobody, Value::Array(vec![]));

    let run = plera(&["inbox", "--db", &u, "--limit", "3"]);
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("3 threads"), "{}", run.stderr);
}

#[test]
fn funnel_and_accounts_agree_with_the_log() {
    let u = url(base());
    let log = events(base());
    let count = |t: &str| log.iter().filter(|e| e["event_type"] == t).count() as u64;
    let replied: BTreeSet<&str> = log
        .iter()
        .filter(|e| e["event_type"] == "ReplyReceived")
        .map(|e| e["aggregate_id"].as_str().unwrap())
        .collect();

    let funnel = parsed(&json_of(&u, &["funnel"]));
    let campaigns = funnel.as_array().unwrap();
    let created = log
        .iter()
        .filter(|e| e["event_type"] == "CampaignCreated")
        .count();
    assert_eq!(campaigns.len(), created);
    let total = |field: &str| -> u64 {
        campaigns
            .iter()
            .map(|c| c[field].as_u64().expect(field))
            .sum()
    };
    assert_eq!(total("started"), count("SequenceStarted"));
    assert_eq!(total("invited"), count("InviteSent"));
    assert_eq!(total("messaged"), count("MessageSent"));
    assert_eq!(total("emailed"), count("EmailSent"));
    assert_eq!(total("replied"), replied.len() as u64);
    assert_eq!(total("stopped"), replied.len() as u64, "every reply stops");
    let counts = set(&[
        "started", "invited", "accepted", "messaged", "emailed", "replied", "stopped",
    ]);
    for c in campaigns {
        let steps = c["steps"].as_array().unwrap();
        assert!(!steps.is_empty());
        for s in steps {
            let mut expected = counts.clone();
            expected.extend(set(&["step", "action"]));
            assert_eq!(keys(s), expected, "{s}");
        }
        // Each send is one step's: the steps add up to the campaign.
        for field in ["invited", "messaged", "emailed", "accepted"] {
            let sum: u64 = steps.iter().map(|s| s[field].as_u64().unwrap()).sum();
            assert_eq!(
                sum,
                c[field].as_u64().unwrap(),
                "{field} of {}",
                c["campaign_id"]
            );
        }
    }

    let accounts = parsed(&json_of(&u, &["accounts"]));
    let accounts = accounts.as_array().unwrap();
    let connected: BTreeSet<&str> = log
        .iter()
        .filter(|e| e["event_type"] == "AccountConnected")
        .map(|e| e["aggregate_id"].as_str().unwrap())
        .collect();
    let listed: BTreeSet<&str> = accounts
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, connected);
    for a in accounts {
        assert!(
            [
                "connected",
                "paused",
                "restricted",
                "needs_reconnect",
                "disconnected"
            ]
            .contains(&a["status"].as_str().unwrap()),
            "{a}"
        );
        match a["status"].as_str().unwrap() {
            "connected" => assert!(a["pause_reason"].is_null(), "{a}"),
            "paused" | "restricted" | "needs_reconnect" => {
                assert!(!a["pause_reason"].is_null(), "{a}")
            }
            _ => {}
        }
        for limit in ["invites_today", "messages_today", "invites_7d"] {
            let used = a[limit]["used"].as_u64().unwrap();
            let cap = a[limit]["limit"].as_u64().unwrap();
            assert!(used <= cap, "{limit} of {a}");
        }
    }
    let started: u64 = accounts
        .iter()
        .map(|a| a["invites_7d"]["used"].as_u64().unwrap())
        .sum();
    assert!(started > 0, "the last week had invites");
}

#[test]
fn read_commands_catch_the_views_up_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let db = copy_of_base(dir.path());
    let u = url(&db);
    let reads = [&["inbox"][..], &["accounts"], &["funnel"]];
    let current: Vec<String> = reads.iter().map(|cmd| json_of(&u, cmd)).collect();
    // As if the views had never run (a database written by an engine without them).
    sqlite_exec(
        &db,
        "DELETE FROM inbox_sequences; DELETE FROM inbox_threads; DELETE FROM inbox_messages;
         DELETE FROM sender_health; DELETE FROM sender_warnings; DELETE FROM sender_clock;
         DELETE FROM funnel_sequences; DELETE FROM funnel_campaigns; DELETE FROM funnel_steps;
         DELETE FROM funnel_daily; DELETE FROM projection_checkpoints;",
    );
    for (cmd, expected) in reads.iter().zip(&current) {
        assert_eq!(&json_of(&u, cmd), expected, "{cmd:?} after catching up");
    }
}

#[test]
fn missing_and_empty_databases_get_one_line_and_stay_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.db");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let commands = ["replay", "inbox", "accounts", "funnel", "audit", "export"];
    for cmd in commands {
        let line = plera(&[cmd, "--db", &url(&absent)]).one_line_failure();
        assert!(line.contains("no database at"), "{cmd}: {line}");
        assert!(!absent.exists(), "{cmd} created the database");

        let line = plera(&[cmd, "--json", "--db", &url(&empty)]).one_line_failure();
        assert!(line.contains("is empty"), "{cmd}: {line}");
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0, "{cmd} wrote");

        let line = plera(&[cmd, "--db", "sqlite::memory:"]).one_line_failure();
        assert!(line.contains("is empty"), "{cmd}: {line}");
    }
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let name = file.unwrap().file_name();
        assert_eq!(name, "empty.db", "nothing else was created");
    }
}
