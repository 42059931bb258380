//! `plera simulate` and `plera export` as a user runs them: determinism, the JSON summary, the
//! refusals (non-empty, foreign or unreachable databases, bad flags) and the export formats.

mod cli_support;

use cli_support::{export, plera, simulate, url, SMALL};
use serde_json::Value;
use std::collections::BTreeMap;

/// Event types counted in an export.
fn count_types(jsonl: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in jsonl.lines() {
        let event: Value = serde_json::from_str(line).expect("a JSON line");
        let kind = event["event_type"]
            .as_str()
            .expect("event_type")
            .to_string();
        *counts.entry(kind).or_default() += 1;
    }
    counts
}

#[test]
fn the_same_seed_and_flags_give_the_same_log_byte_for_byte_even_with_faults_and_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let flags: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain([
            "--seed",
            "11",
            "--faults",
            "0.05",
            "--crashes",
            "2",
            "--json",
        ])
        .collect();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let run_a = simulate(&a, &flags);
    let run_b = simulate(&b, &flags);
    let (log_a, log_b) = (export(&a, "jsonl"), export(&b, "jsonl"));
    assert!(log_a.lines().count() > 300, "a small run still does things");
    assert!(log_a == log_b, "two runs of one seed differ");
    // Only the wall time may differ between the two summaries.
    let (mut sa, mut sb) = (run_a.json(), run_b.json());
    sa["wall_ms"] = Value::Null;
    sb["wall_ms"] = Value::Null;
    assert_eq!(sa, sb);
    // The faults were real: outcomes were lost and reconciled, nothing failed the audit.
    let types = count_types(&log_a);
    assert!(
        types.get("StepOutcomeUnknown").copied().unwrap_or(0) > 0,
        "{types:?}"
    );

    let c = dir.path().join("c.db");
    let other: Vec<&str> = SMALL.iter().copied().chain(["--seed", "12"]).collect();
    simulate(&c, &other);
    assert!(export(&c, "jsonl") != log_a, "another seed, another log");
}

#[test]
fn the_json_summary_has_exactly_the_contract_keys_and_agrees_with_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let flags: Vec<&str> = SMALL.iter().copied().chain(["--json"]).collect();
    let run = simulate(&db, &flags);
    assert_eq!(run.stdout.lines().count(), 1, "one JSON document on stdout");
    let summary = run.json();
    let keys: Vec<&str> = summary
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "seed",
        "days",
        "leads",
        "accounts",
        "events",
        "invites_sent",
        "invites_accepted",
        "messages_sent",
        "emails_sent",
        "replies",
        "sequences_stopped",
        "wall_ms",
    ];
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    assert_eq!(
        (
            &summary["seed"],
            &summary["days"],
            &summary["leads"],
            &summary["accounts"]
        ),
        (
            &Value::from(7),
            &Value::from(5),
            &Value::from(150),
            &Value::from(3)
        )
    );

    let log = export(&db, "jsonl");
    let types = count_types(&log);
    let of = |t: &str| Value::from(types.get(t).copied().unwrap_or(0));
    assert_eq!(summary["events"], Value::from(log.lines().count() as u64));
    assert_eq!(summary["invites_sent"], of("InviteSent"));
    assert_eq!(summary["invites_accepted"], of("InviteAccepted"));
    assert_eq!(summary["messages_sent"], of("MessageSent"));
    assert_eq!(summary["emails_sent"], of("EmailSent"));
    assert_eq!(summary["replies"], of("ReplyReceived"));
    assert_eq!(summary["sequences_stopped"], of("SequenceStopped"));
    for kind in [
        "InviteSent",
        "InviteAccepted",
        "MessageSent",
        "EmailSent",
        "ReplyReceived",
    ] {
        assert!(
            types.contains_key(kind),
            "a small run has {kind}: {types:?}"
        );
    }
    assert_eq!(types["SequenceStarted"], 150);

    // Positions run 1..=n in order, each line with the documented fields.
    for (i, line) in log.lines().enumerate() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["position"], Value::from(i as u64 + 1));
        for field in [
            "aggregate_type",
            "aggregate_id",
            "sequence",
            "event_version",
            "payload",
        ] {
            assert!(!event[field].is_null(), "{field} missing in {line}");
        }
    }
}

#[test]
fn csv_export_has_a_header_and_the_same_events_with_the_payload_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    simulate(&db, &["--days", "2", "--leads", "20", "--accounts", "2"]);
    let jsonl = export(&db, "jsonl");
    let csv = export(&db, "csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("position,aggregate_type,aggregate_id,sequence,event_type,event_version,payload")
    );
    let first: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    let row = lines.next().unwrap();
    // The payload is the last, quoted column: undo the CSV quoting and compare.
    let quoted = &row[row.find(",\"{").unwrap() + 1..];
    let payload: Value =
        serde_json::from_str(&quoted[1..quoted.len() - 1].replace("\"\"", "\"")).unwrap();
    assert_eq!(payload, first["payload"]);
    assert!(row.starts_with("1,"));
    // No payload holds a raw line break, so rows and events match one to one.
    assert_eq!(csv.lines().count(), jsonl.lines().count() + 1);
}

#[test]
fn a_database_with_events_is_refused_without_reset_and_replaced_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let flags = ["--days", "2", "--leads", "20", "--accounts", "2"];
    simulate(&db, &flags);
    let before = export(&db, "jsonl");
    let u = url(&db);

    let mut again = vec!["simulate", "--db", u.as_str()];
    again.extend_from_slice(&flags);
    let line = plera(&again).one_line_failure();
    assert!(
        line.contains("already holds events") && line.contains("--reset"),
        "{line}"
    );
    assert_eq!(
        export(&db, "jsonl"),
        before,
        "the refused run changed the database"
    );

    let mut reset = again.clone();
    reset.extend_from_slice(&["--reset", "--seed", "99"]);
    let run = plera(&reset);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let after = export(&db, "jsonl");
    assert_ne!(after, before, "another seed after the reset");
    // The reset left no trace of the first run: the log is the new seed's alone.
    let fresh = dir.path().join("fresh.db");
    let mut fresh_flags = flags.to_vec();
    fresh_flags.extend_from_slice(&["--seed", "99"]);
    simulate(&fresh, &fresh_flags);
    assert_eq!(after, export(&fresh, "jsonl"));
}

#[test]
fn bad_databases_get_one_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();

    let line = plera(&["simulate", "--db", "mysql://localhost/plera"]).one_line_failure();
    assert!(line.contains("unsupported database URL"), "{line}");

    let missing_dir = dir.path().join("no-such-dir").join("x.db");
    let line = plera(&["simulate", "--db", &url(&missing_dir)]).one_line_failure();
    assert!(line.contains("cannot open the database"), "{line}");

    let line =
        plera(&["simulate", "--db", "postgres://plera@127.0.0.1:1/plera"]).one_line_failure();
    assert!(line.contains("cannot open the database"), "{line}");

    // Another application's SQLite file: refused and left exactly as it was.
    let foreign = dir.path().join("foreign.db");
    create_foreign_sqlite(&foreign);
    let bytes = std::fs::read(&foreign).unwrap();
    let line = plera(&["simulate", "--db", &url(&foreign), "--reset"]).one_line_failure();
    assert!(line.contains("another application"), "{line}");
    assert_eq!(std::fs::read(&foreign).unwrap(), bytes);

    // Read-only commands do not create a database they cannot find.
    let absent = dir.path().join("absent.db");
    for cmd in ["audit", "export"] {
        let line = plera(&[cmd, "--db", &url(&absent)]).one_line_failure();
        assert!(line.contains("no database"), "{line}");
        assert!(!absent.exists(), "{cmd} created the database");
    }
}

/// A SQLite file with a table of another application.
fn create_foreign_sqlite(path: &std::path::Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::sqlite::SqliteConnectOptions;
        use sqlx::{ConnectOptions, Connection};
        let mut conn = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        sqlx::query("CREATE TABLE customers (id integer PRIMARY KEY, name text)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
}

#[test]
fn bad_flag_values_get_one_line() {
    for args in [
        vec!["simulate", "--faults", "1.5"],
        vec!["simulate", "--days", "0"],
        vec!["simulate", "--bogus"],
        vec!["export", "--format", "xml"],
        vec!["inbox", "--limit", "0"],
    ] {
        let run = plera(&args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("error:"), "{}", run.stderr);
    }
}

#[test]
fn help_explains_every_flag() {
    let run = plera(&["simulate", "--help"]);
    assert_eq!(run.code, Some(0));
    for flag in [
        "--seed",
        "--days",
        "--leads",
        "--accounts",
        "--faults",
        "--crashes",
        "--ledger",
        "--via-http",
        "--reset",
        "--db",
        "--json",
    ] {
        assert!(
            run.stdout.contains(flag),
            "{flag} missing from simulate --help"
        );
    }
    for (cmd, flags) in [
        ("audit", vec!["--ledger"]),
        ("export", vec!["--format"]),
        ("inbox", vec!["--account", "--unread", "--limit"]),
        ("replay", vec![]),
        ("accounts", vec![]),
        ("funnel", vec![]),
    ] {
        let run = plera(&[cmd, "--help"]);
        assert_eq!(run.code, Some(0), "{cmd} --help");
        for flag in flags.iter().chain(&["--db", "--json"]) {
            assert!(
                run.stdout.contains(flag),
                "{flag} missing from {cmd} --help"
            );
        }
    }
}
