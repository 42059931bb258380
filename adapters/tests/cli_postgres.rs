//! The CLI on PostgreSQL (a schema of its own per test, in `DATABASE_URL` or the local `test`
//! database): the same simulation gives the same log and the same views as on SQLite, `--reset`
//! replaces a log in place, and reading commands leave an empty schema empty.

mod cli_support;

use cli_support::{export, json_of, plera, simulate, url, PgSchema, SMALL};

/// `plera export --format jsonl` of any database URL.
fn export_url(db: &str) -> String {
    let run = plera(&["export", "--db", db, "--format", "jsonl"]);
    assert_eq!(run.code, Some(0), "export failed: {}", run.stderr);
    run.stdout
}

/// `plera simulate` into a database URL; panics unless it succeeds.
fn simulate_url(db: &str, flags: &[&str]) -> String {
    let mut args = vec!["simulate", "--db", db];
    args.extend_from_slice(flags);
    let run = plera(&args);
    assert_eq!(run.code, Some(0), "simulate failed: {}", run.stderr);
    run.stdout
}

#[test]
fn the_same_simulation_on_sqlite_and_postgres_gives_the_same_log_and_views() {
    let flags: Vec<&str> = SMALL
        .iter()
        .copied()
        .chain([
            "--seed",
            "3",
            "--faults",
            "0.05",
            "--crashes",
            "1",
            "--json",
        ])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.db");
    let on_sqlite = simulate(&file, &flags).json();
    let schema = PgSchema::new("cli_same");
    let pg = schema.url();
    let on_postgres: serde_json::Value =
        serde_json::from_str(&simulate_url(&pg, &flags)).expect("JSON summary");

    let log = export(&file, "jsonl");
    assert!(log.lines().count() > 300);
    assert!(log == export_url(&pg), "the logs differ");
    for key in ["events", "invites_sent", "replies", "sequences_stopped"] {
        assert_eq!(on_sqlite[key], on_postgres[key], "{key}");
    }
    let sqlite = url(&file);
    for cmd in [&["inbox"][..], &["accounts"], &["funnel"], &["replay"]] {
        assert_eq!(json_of(&sqlite, cmd), json_of(&pg, cmd), "{cmd:?}");
    }
    let audit = plera(&["audit", "--json", "--db", &pg]);
    assert_eq!(audit.code, Some(0), "{}", audit.stdout);
}

#[test]
fn reset_on_postgres_replaces_the_log_in_place() {
    let flags = ["--days", "2", "--leads", "20", "--accounts", "2"];
    let schema = PgSchema::new("cli_reset");
    let pg = schema.url();
    simulate_url(&pg, &flags);
    let first = export_url(&pg);

    let mut again = vec!["simulate", "--db", pg.as_str()];
    again.extend_from_slice(&flags);
    let line = plera(&again).one_line_failure();
    assert!(line.contains("already holds events"), "{line}");
    assert_eq!(export_url(&pg), first, "the refused run changed the log");

    // Another application's table in the same schema survives the reset.
    cli_support::block_on(cli_support::pg_admin(&format!(
        "CREATE TABLE {}.customers (id integer PRIMARY KEY); \
         INSERT INTO {}.customers VALUES (1)",
        schema.name, schema.name
    )));
    let mut reset = again.clone();
    reset.extend_from_slice(&["--reset", "--seed", "99"]);
    let run = plera(&reset);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let after = export_url(&pg);
    assert_ne!(after, first);
    assert!(schema.tables().contains(&"customers".to_string()));

    // Nothing of the first run is left: the log and the views are the new seed's alone.
    let fresh = PgSchema::new("cli_fresh");
    let mut fresh_flags = flags.to_vec();
    fresh_flags.extend_from_slice(&["--seed", "99"]);
    simulate_url(&fresh.url(), &fresh_flags);
    assert_eq!(after, export_url(&fresh.url()));
    assert_eq!(
        json_of(&pg, &["inbox"]),
        json_of(&fresh.url(), &["inbox"]),
        "the views were reset too"
    );
}

#[test]
fn reading_commands_leave_an_empty_postgres_schema_empty() {
    let schema = PgSchema::new("cli_empty");
    for cmd in ["audit", "export", "replay", "inbox", "accounts", "funnel"] {
        let line = plera(&[cmd, "--db", &schema.url()]).one_line_failure();
        assert!(line.contains("is empty"), "{cmd}: {line}");
    }
    assert_eq!(schema.tables(), Vec::<String>::new(), "nothing was created");
}
