//! `plera simulate --via-http`: the engine over the provider's HTTP API, SMTP and webhooks
//! against the served sandbox. The issue's run passes its audit; the log and the ledger are the
//! in-process ones, byte for byte; with faults and crashes a seed still repeats itself; and at
//! `RUST_LOG=trace` no secret of the run shows in any log line.

mod cli_support;

use std::process::Command;

use base64::Engine as _;
use cli_support::{export, scratch, simulate, SMALL};
use plera_adapters::simulation::via_http::SimulatedSecrets;
use secrecy::ExposeSecret;

#[test]
fn the_issue_run_passes_its_audit() {
    let dir = scratch("via_http_issue_run");
    let run = simulate(
        &dir.join("plera.db"),
        &[
            "--via-http",
            "--seed",
            "7",
            "--days",
            "10",
            "--leads",
            "500",
            "--accounts",
            "4",
            "--json",
        ],
    );
    let summary = run.json();
    assert_eq!(
        (
            &summary["seed"],
            &summary["days"],
            &summary["leads"],
            &summary["accounts"]
        ),
        (&7.into(), &10.into(), &500.into(), &4.into())
    );
    for key in [
        "events",
        "invites_sent",
        "invites_accepted",
        "messages_sent",
        "emails_sent",
        "replies",
        "sequences_stopped",
    ] {
        assert!(
            summary[key].as_u64().is_some_and(|n| n > 0),
            "{key}: {summary}"
        );
    }
    assert_eq!(summary["replies"], summary["sequences_stopped"]);
    assert!(
        run.stderr.is_empty(),
        "--json keeps stderr quiet: {}",
        run.stderr
    );
}

#[test]
fn over_http_the_log_and_the_ledger_are_the_in_process_ones() {
    let dir = scratch("via_http_same_as_in_process");
    let mut flags = vec!["--seed", "11"];
    flags.extend_from_slice(SMALL);
    let ledger_local = dir.join("local.jsonl");
    let ledger_http = dir.join("http.jsonl");
    let local = {
        let mut f = flags.clone();
        f.extend(["--ledger", ledger_local.to_str().unwrap(), "--json"]);
        simulate(&dir.join("local.db"), &f)
    };
    let http = {
        let mut f = flags.clone();
        f.extend([
            "--ledger",
            ledger_http.to_str().unwrap(),
            "--json",
            "--via-http",
        ]);
        simulate(&dir.join("http.db"), &f)
    };
    let (mut a, mut b) = (local.json(), http.json());
    a["wall_ms"] = 0.into();
    b["wall_ms"] = 0.into();
    assert_eq!(a, b);
    let log = export(&dir.join("local.db"), "jsonl");
    assert!(log.lines().count() > 500, "the run did something");
    assert!(
        log == export(&dir.join("http.db"), "jsonl"),
        "the logs differ"
    );
    let ledger = std::fs::read_to_string(&ledger_local).unwrap();
    assert!(ledger.contains("\"invite\"") && ledger.contains("\"email\""));
    assert!(ledger == std::fs::read_to_string(&ledger_http).unwrap());
}

#[test]
fn with_faults_and_crashes_a_seed_repeats_itself_over_http() {
    let dir = scratch("via_http_faults_and_crashes");
    let flags = [
        "--via-http",
        "--seed",
        "5",
        "--days",
        "6",
        "--leads",
        "150",
        "--accounts",
        "3",
        "--faults",
        "0.1",
        "--crashes",
        "3",
    ];
    let first = simulate(&dir.join("a.db"), &flags);
    let second = simulate(&dir.join("b.db"), &flags);
    for run in [&first, &second] {
        assert!(
            run.stderr.contains("engine crashes, rebuilt from the log"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("audit: invariants 1-8 hold"),
            "{}",
            run.stderr
        );
    }
    let log = export(&dir.join("a.db"), "jsonl");
    assert!(
        log.contains("\"StepOutcomeUnknown\""),
        "answers were lost over the wire and reconciled"
    );
    assert!(log == export(&dir.join("b.db"), "jsonl"), "the logs differ");
}

#[test]
fn no_secret_shows_in_any_log_line_at_trace() {
    let dir = scratch("via_http_secrets");
    let seed = 3;
    let db = format!("sqlite://{}", dir.join("plera.db").display());
    let output = Command::new(env!("CARGO_BIN_EXE_plera"))
        .args(["simulate", "--via-http", "--seed", "3", "--days", "3"])
        .args(["--leads", "30", "--accounts", "2", "--faults", "0.1"])
        .args(["--db", &db])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{}", tail(&stderr));
    // The trace is on and covers every edge: provider calls, webhook requests, SMTP sends.
    for sign in [
        "provider call",
        "actix_http::h1",
        "hyper_util",
        "webhook endpoint serving",
    ] {
        assert!(stderr.contains(sign), "no `{sign}` in the trace");
    }
    let secrets = SimulatedSecrets::for_seed(seed);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let password = secrets.smtp_password.expose_secret();
    let forbidden = [
        secrets.api_key.expose_secret().to_string(),
        secrets.webhook_secret.expose_secret().to_string(),
        password.to_string(),
        // What AUTH PLAIN and AUTH LOGIN put on the wire.
        b64(&format!("\0{}\0{password}", secrets.smtp_user)),
        b64(password),
    ];
    for secret in &forbidden {
        assert!(!stderr.contains(secret.as_str()), "a secret is in the log");
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
