//! What the CLI needs from the stores beside `open_store`: `Store::reset` (an empty plera
//! database again, in place, on SQLite and PostgreSQL, leaving other tables alone) and
//! `open_existing_store` (a database that must already be plera's: nothing created, nothing
//! migrated unless asked, missing / empty / foreign / newer / older databases told apart).

use plera_actors::store::NewEvent;
use plera_actors::LeadProfile;
use plera_adapters::store::{
    open_existing_store, open_store, ExistingError, Pending, Store, StoreOpenError,
};
use plera_adapters::views::Views;
use plera_domain::ids::{LeadId, WorkspaceId};
use serde_json::json;
use sqlx::Connection;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Where a fresh database lives.

fn pg_base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

static SCHEMAS: AtomicU64 = AtomicU64::new(0);

impl Place {
    async fn new(kind: Db) -> Place {
        match kind {
            Db::Sqlite => Place::Sqlite(tempfile::tempdir().expect("temp dir")),
            Db::Postgres => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let name = format!(
                    "plera_reset_{}_{}_{nanos}",
                    std::process::id(),
                    SCHEMAS.fetch_add(1, Ordering::Relaxed)
                );
                pg_admin(&format!("CREATE SCHEMA {name}")).await;
                Place::Postgres(name)
            }
        }
    }

    fn url(&self) -> String {
        match self {
            Place::Sqlite(dir) => format!("sqlite://{}", self.file(dir).display()),
            Place::Postgres(schema) => {
                let mut url = url::Url::parse(&pg_base_url()).expect("DATABASE_URL is a URL");
                url.query_pairs_mut()
                    .append_pair("options[search_path]", schema);
                url.to_string()
            }
        }
    }

    fn file(&self, dir: &tempfile::TempDir) -> std::path::PathBuf {
        dir.path().join("plera.db")
    }

    /// Runs SQL on the place's database, behind plera's back.
    async fn execute(&self, sql: &str) {
        match self {
            Place::Sqlite(_) => {
                let pool = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", self.url()))
                    .await
                    .expect("sqlite");
                sqlx::raw_sql(sql).execute(&pool).await.expect(sql);
                pool.close().await;
            }
            Place::Postgres(_) => {
                let pool = sqlx::PgPool::connect(&self.url()).await.expect("pg");
                sqlx::raw_sql(sql).execute(&pool).await.expect(sql);
                pool.close().await;
            }
        }
    }

    /// One integer from a query on the place's database.
    async fn count(&self, sql: &str) -> i64 {
        match self {
            Place::Sqlite(_) => {
                let pool = sqlx::SqlitePool::connect(&self.url())
                    .await
                    .expect("sqlite");
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql);
                pool.close().await;
                n
            }
            Place::Postgres(_) => {
                let pool = sqlx::PgPool::connect(&self.url()).await.expect("pg");
                let n = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql);
                pool.close().await;
                n
            }
        }
    }

    /// The database's tables, sorted.
    async fn tables(&self) -> Vec<String> {
        let mut tables: Vec<String> = match self {
            Place::Sqlite(dir) => {
                if !self.file(dir).exists() {
                    return Vec::new();
                }
                let pool = sqlx::SqlitePool::connect(&self.url())
                    .await
                    .expect("sqlite");
                let t = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(&pool)
                .await
                .expect("tables");
                pool.close().await;
                t
            }
            Place::Postgres(schema) => {
                let mut conn = sqlx::PgConnection::connect(&pg_base_url())
                    .await
                    .expect("pg");
                let t = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = $1",
                )
                .bind(schema)
                .fetch_all(&mut conn)
                .await
                .expect("tables");
                let _ = conn.close().await;
                t
            }
        };
        tables.sort();
        tables
    }

    async fn cleanup(self) {
        if let Place::Postgres(schema) = self {
            pg_admin(&format!("DROP SCHEMA {schema} CASCADE")).await;
        }
    }
}

async fn pg_admin(sql: &str) {
    let mut conn = sqlx::PgConnection::connect(&pg_base_url())
        .await
        .expect("PostgreSQL must be reachable at DATABASE_URL or 127.0.0.1:5432/test");
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    let _ = conn.close().await;
}

/// Runs `body` in a fresh place, then removes the place even if `body` panicked.
async fn in_place<F, Fut>(kind: Db, body: F)
where
    F: FnOnce(Arc<Place>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let place = Arc::new(Place::new(kind).await);
    let outcome = tokio::spawn(body(place.clone())).await;
    if let Ok(place) = Arc::try_unwrap(place) {
        place.cleanup().await;
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

// ---------------------------------------------------------------------------------------------
// A little history: a sender, one lead's sequence with a reply.

fn event(aggregate_type: &str, id: &str, sequence: u64, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        aggregate_type: aggregate_type.into(),
        aggregate_id: id.into(),
        sequence,
        event_type: payload["type"].as_str().unwrap_or_default().into(),
        event_version: "1".into(),
        payload,
    }
}

fn history() -> Vec<NewEvent> {
    let seq = "ws/c1/l1";
    vec![
        event(
            "sender_account",
            "acc-1",
            1,
            json!({"type": "AccountConnected", "workspace_id": "ws", "account_id": "acc-1",
                "provider_account_id": "li-1", "owner": "alice", "tier": "premium",
                "limits": {"daily_invites": 80, "daily_messages": 150, "weekly_invites": 200},
                "timezone": "Europe/Paris", "working_hours": {"start": "08:00", "end": "19:00"},
                "warm_up": false, "at": "2026-03-02T07:00:00Z"}),
        ),
        event(
            "lead_sequence",
            seq,
            1,
            json!({"type": "SequenceStarted", "workspace_id": "ws", "lead_id": "l1",
                "campaign_id": "c1", "play": "linkedin-first", "account_id": "acc-1",
                "connection_degree": "second", "email_known": true,
                "at": "2026-03-02T08:00:00Z"}),
        ),
        event(
            "lead_sequence",
            seq,
            2,
            json!({"type": "StepStarted", "step": 0, "action": "invite", "account_id": "acc-1",
                "at": "2026-03-02T09:00:00Z"}),
        ),
        event(
            "lead_sequence",
            seq,
            3,
            json!({"type": "InviteSent", "step": 0, "account_id": "acc-1", "note": "Hello",
                "at": "2026-03-02T09:00:01Z"}),
        ),
        event(
            "lead_sequence",
            seq,
            4,
            json!({"type": "ReplyReceived", "channel": "linkedin", "message_id": "r1",
                "text": "Sure", "at": "2026-03-03T10:00:00Z"}),
        ),
        event(
            "lead_sequence",
            seq,
            5,
            json!({"type": "SequenceStopped", "reason": "replied", "at": "2026-03-03T10:00:00Z"}),
        ),
    ]
}

/// Rows in every view table of `store`.
async fn view_rows(store: &Store) -> u64 {
    Views::new(store)
        .counts()
        .await
        .expect("counts")
        .iter()
        .flat_map(|c| c.rows.values())
        .sum()
}

fn migrations(kind: Db) -> i64 {
    let dir = match kind {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    std::fs::read_dir(path)
        .expect("migrations folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as i64
}

// ---------------------------------------------------------------------------------------------
// Store::reset.

async fn reset_empties_plera_and_leaves_other_tables_alone(kind: Db) {
    in_place(kind, move |place| async move {
        let store = open_store(&place.url()).await.expect("open");
        store.event_log().append(history()).await.expect("append");
        let ws = WorkspaceId::new("ws");
        let lead = LeadId::new("l1");
        store
            .lead_directory()
            .put(
                &ws,
                &lead,
                LeadProfile::default().with_var("first_name", "Ada"),
            )
            .await
            .expect("profile");
        Views::new(&store).catch_up_all().await.expect("views");
        assert!(view_rows(&store).await > 5);
        place
            .execute(
                "CREATE TABLE customers (id integer PRIMARY KEY); \
                 INSERT INTO customers (id) VALUES (7)",
            )
            .await;
        let tables = place.tables().await;

        store.reset().await.expect("reset");

        assert_eq!(place.tables().await, tables, "the same tables, re-created");
        let log = store.event_log();
        assert!(log.read_after(0, 10).await.unwrap().is_empty(), "no events");
        assert_eq!(
            store.lead_directory().get(&ws, &lead).await.expect("get"),
            None,
            "no profiles"
        );
        assert_eq!(view_rows(&store).await, 0, "empty views");
        assert_eq!(
            place
                .count("SELECT COUNT(*) FROM projection_checkpoints")
                .await,
            0
        );
        assert_eq!(
            place.count("SELECT COUNT(*) FROM _sqlx_migrations").await,
            migrations(kind),
            "every migration applied again"
        );
        assert_eq!(
            place.count("SELECT COUNT(*) FROM customers").await,
            1,
            "another application's table is left alone"
        );

        // A fresh log: the same history appends again from sequence 1 and position 1.
        log.append(history()).await.expect("append again");
        let events = log.read_after(0, 10).await.unwrap();
        assert_eq!(events.len(), 6);
        assert_eq!(events[0].position, 1);
        Views::new(&store).catch_up_all().await.expect("views");
        assert!(view_rows(&store).await > 5);
        store.close().await;

        // What reset left is a complete plera database.
        let reopened = open_existing_store(&place.url(), Pending::Refuse)
            .await
            .expect("an up-to-date plera database");
        assert_eq!(
            reopened.event_log().read_after(0, 10).await.unwrap().len(),
            6
        );
        reopened.close().await;
    })
    .await;
}

#[tokio::test]
async fn reset_empties_plera_and_leaves_other_tables_alone_on_sqlite() {
    reset_empties_plera_and_leaves_other_tables_alone(Db::Sqlite).await;
}

#[tokio::test]
async fn reset_empties_plera_and_leaves_other_tables_alone_on_postgres() {
    reset_empties_plera_and_leaves_other_tables_alone(Db::Postgres).await;
}

// ---------------------------------------------------------------------------------------------
// open_existing_store.

#[tokio::test]
async fn a_missing_or_empty_database_is_refused_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let url = format!("sqlite://{}", missing.display());
    for pending in [Pending::Refuse, Pending::Apply] {
        let refused = open_existing_store(&url, pending).await;
        assert!(
            matches!(refused, Err(ExistingError::Missing { .. })),
            "{:?}",
            refused.map(|_| ())
        );
        assert!(!missing.exists(), "the file was created");
    }

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let url = format!("sqlite://{}", empty.display());
    for pending in [Pending::Refuse, Pending::Apply] {
        let refused = open_existing_store(&url, pending).await;
        let Err(e @ ExistingError::Empty { .. }) = refused else {
            panic!("an empty file must be refused");
        };
        assert!(e.to_string().contains("is empty"), "{e}");
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["empty.db"]);

    let memory = open_existing_store("sqlite::memory:", Pending::Apply).await;
    assert!(matches!(memory, Err(ExistingError::Empty { .. })));

    let bad = open_existing_store("mysql://localhost/plera", Pending::Refuse).await;
    assert!(matches!(
        bad,
        Err(ExistingError::Open(StoreOpenError::BadUrl { .. }))
    ));
}

#[tokio::test]
async fn an_empty_postgres_schema_is_refused_and_left_empty() {
    in_place(Db::Postgres, |place| async move {
        for pending in [Pending::Refuse, Pending::Apply] {
            let refused = open_existing_store(&place.url(), pending).await;
            assert!(
                matches!(refused, Err(ExistingError::Empty { .. })),
                "{:?}",
                refused.map(|_| ())
            );
        }
        assert_eq!(place.tables().await, Vec::<String>::new());
    })
    .await;
}

async fn foreign_and_newer_databases_are_refused(kind: Db) {
    in_place(kind, move |place| async move {
        place
            .execute("CREATE TABLE customers (id integer PRIMARY KEY)")
            .await;
        let refused = open_existing_store(&place.url(), Pending::Apply).await;
        assert!(
            matches!(
                refused,
                Err(ExistingError::Open(StoreOpenError::ForeignSchema { .. }))
            ),
            "{:?}",
            refused.map(|_| ())
        );
        assert_eq!(place.tables().await, vec!["customers"]);
    })
    .await;
    in_place(kind, move |place| async move {
        open_store(&place.url()).await.expect("open").close().await;
        let (success, checksum) = match kind {
            Db::Sqlite => ("1", "x'00'"),
            Db::Postgres => ("true", "'\\x00'::bytea"),
        };
        place
            .execute(&format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                 execution_time) VALUES (99990101000000, 'from the future', {success}, \
                 {checksum}, 1)"
            ))
            .await;
        for pending in [Pending::Refuse, Pending::Apply] {
            match open_existing_store(&place.url(), pending).await {
                Err(ExistingError::Open(StoreOpenError::NewerSchema { found, .. })) => {
                    assert_eq!(found, 99990101000000)
                }
                other => panic!("a newer schema must be refused: {:?}", other.map(|_| ())),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn foreign_and_newer_databases_are_refused_on_sqlite() {
    foreign_and_newer_databases_are_refused(Db::Sqlite).await;
}

#[tokio::test]
async fn foreign_and_newer_databases_are_refused_on_postgres() {
    foreign_and_newer_databases_are_refused(Db::Postgres).await;
}

#[tokio::test]
async fn an_older_plera_database_is_refused_for_reading_and_migrated_for_the_views() {
    in_place(Db::Sqlite, |place| async move {
        let store = open_store(&place.url()).await.expect("open");
        store.event_log().append(history()).await.expect("append");
        store.close().await;
        // Back to the first schema: only migration 1 applied.
        let first = [
            "_sqlx_migrations",
            "events",
            "lead_profiles",
            "plera_schema",
            "projection_checkpoints",
            "sender_actions",
        ];
        let mut undo = String::from(
            "ALTER TABLE projection_checkpoints DROP COLUMN version; \
             ALTER TABLE projection_checkpoints DROP COLUMN deferred_indexes; \
             DELETE FROM _sqlx_migrations WHERE version > 1;",
        );
        for table in place.tables().await {
            if !first.contains(&table.as_str()) {
                undo.push_str(&format!(" DROP TABLE {table};"));
            }
        }
        place.execute(&undo).await;
        let old_tables = place.tables().await;
        assert_eq!(old_tables, first);

        match open_existing_store(&place.url(), Pending::Refuse).await {
            Err(e @ ExistingError::Outdated { .. }) => {
                let ExistingError::Outdated { pending, .. } = &e else {
                    unreachable!()
                };
                assert!(pending.contains(&2), "{pending:?}");
                assert!(e.to_string().contains("older plera"), "{e}");
            }
            other => panic!("an older schema must be refused: {:?}", other.map(|_| ())),
        }
        assert_eq!(place.tables().await, old_tables, "nothing migrated");

        let store = open_existing_store(&place.url(), Pending::Apply)
            .await
            .expect("migrated");
        assert_eq!(
            place.count("SELECT COUNT(*) FROM _sqlx_migrations").await,
            migrations(Db::Sqlite)
        );
        Views::new(&store).catch_up_all().await.expect("views");
        assert!(view_rows(&store).await > 5);
        assert_eq!(store.event_log().read_after(0, 10).await.unwrap().len(), 6);
        store.close().await;
    })
    .await;
}
