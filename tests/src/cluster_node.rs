//! The pieces of the two-process scale-out test (`tests/tests/cluster_processes.rs`): a provider
//! whose record lives in the shared PostgreSQL schema (so two OS processes send through one
//! "LinkedIn" and the test can count every action), a clock both processes agree on, and the
//! node itself (the `cluster_node` binary).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use plera_actors::driver::ClusterConfig;
use plera_actors::Engine;
use plera_adapters::store::{open_store, Store};
use plera_domain::ports::{
    Clock, EmailGateway, EmailReceipt, EmailRequest, GatewayError, GatewayErrorKind, InviteReceipt,
    InviteRequest, LinkedInGateway, MessageReceipt, MessageRequest, StepKey,
};
use sqlx::PgPool;
use std::sync::Arc;

/// The provider's record table, created by the test in its schema.
pub const LEDGER_TABLE: &str = "CREATE TABLE test_ledger \
    (key text NOT NULL, account text NOT NULL, target text NOT NULL, action text NOT NULL, \
     at timestamptz NOT NULL)";

/// A clock that runs `speed` times faster than the wall clock from a shared origin: every process
/// given the same origin and speed reads the same virtual time.
pub struct ScaledClock {
    /// Virtual time at the origin.
    pub virtual_origin: DateTime<Utc>,
    /// Wall time at the origin.
    pub wall_origin: DateTime<Utc>,
    /// Virtual seconds per wall second.
    pub speed: i32,
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        self.virtual_origin + (Utc::now() - self.wall_origin) * self.speed
    }
}

/// A provider that performs every action by writing it to `test_ledger`: both processes see
/// what either did, so reconciliation after a takeover asks the same "LinkedIn".
pub struct PgLedger {
    pool: PgPool,
    clock: Arc<ScaledClock>,
}

impl PgLedger {
    /// Over the schema of `pool`.
    pub fn new(pool: PgPool, clock: Arc<ScaledClock>) -> Self {
        Self { pool, clock }
    }

    async fn record(
        &self,
        key: &StepKey,
        account: &str,
        target: &str,
        action: &str,
    ) -> Result<DateTime<Utc>, GatewayError> {
        let at = self.clock.now();
        sqlx::query(
            "INSERT INTO test_ledger (key, account, target, action, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key.to_string())
        .bind(account)
        .bind(target)
        .bind(action)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(unknown)?;
        Ok(at)
    }

    async fn find(&self, key: &StepKey) -> Result<Option<DateTime<Utc>>, GatewayError> {
        sqlx::query_scalar("SELECT at FROM test_ledger WHERE key = $1 LIMIT 1")
            .bind(key.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(unknown)
    }
}

/// A failed statement may or may not have been written: the outcome is unknown.
fn unknown(e: sqlx::Error) -> GatewayError {
    GatewayError {
        kind: GatewayErrorKind::Timeout,
        detail: e.to_string(),
    }
}

#[async_trait]
impl LinkedInGateway for PgLedger {
    async fn send_invite(&self, r: InviteRequest) -> Result<InviteReceipt, GatewayError> {
        let at = self
            .record(&r.key, r.account.as_str(), r.lead.as_str(), "invite")
            .await?;
        Ok(InviteReceipt {
            invitation_id: r.key.to_string(),
            usage: None,
            at,
        })
    }

    async fn send_message(&self, r: MessageRequest) -> Result<MessageReceipt, GatewayError> {
        let at = self
            .record(&r.key, r.account.as_str(), r.lead.as_str(), "message")
            .await?;
        Ok(MessageReceipt {
            message_id: r.key.to_string(),
            at,
        })
    }

    async fn find_invite(&self, key: &StepKey) -> Result<Option<InviteReceipt>, GatewayError> {
        Ok(self.find(key).await?.map(|at| InviteReceipt {
            invitation_id: key.to_string(),
            usage: None,
            at,
        }))
    }

    async fn find_message(&self, key: &StepKey) -> Result<Option<MessageReceipt>, GatewayError> {
        Ok(self.find(key).await?.map(|at| MessageReceipt {
            message_id: key.to_string(),
            at,
        }))
    }
}

#[async_trait]
impl EmailGateway for PgLedger {
    async fn send_email(&self, r: EmailRequest) -> Result<EmailReceipt, GatewayError> {
        let at = self
            .record(&r.key, r.mailbox.as_str(), &r.to, "email")
            .await?;
        Ok(EmailReceipt {
            message_id: r.key.to_string(),
            at,
        })
    }

    async fn find_email(&self, key: &StepKey) -> Result<Option<EmailReceipt>, GatewayError> {
        Ok(self.find(key).await?.map(|at| EmailReceipt {
            message_id: key.to_string(),
            at,
        }))
    }
}

/// The pool of a PostgreSQL store.
pub fn pg_pool(store: &Store) -> PgPool {
    match store {
        Store::Postgres(log) => log.pool().clone(),
        Store::Sqlite(_) => panic!("the cluster test runs on PostgreSQL"),
    }
}

/// How a node process is started: `cluster_node URL NAME VIRTUAL_ORIGIN WALL_ORIGIN SPEED RUN_MS`.
pub struct NodeArgs {
    /// The store (a PostgreSQL schema).
    pub url: String,
    /// The node's lease name.
    pub name: String,
    /// The shared clock.
    pub clock: Arc<ScaledClock>,
    /// How long to run (wall) before a clean shutdown.
    pub run_for: std::time::Duration,
}

/// Lease lifetime of the test's nodes (virtual: 2 wall seconds at 300x).
pub const NODE_LEASE_TTL: Duration = Duration::minutes(10);

/// How often the test's nodes renew (virtual).
pub const NODE_RENEWAL: Duration = Duration::minutes(2);

/// Runs one engine node until `run_for` has passed (or the process is killed).
pub async fn run_node(args: NodeArgs) -> Result<(), String> {
    let store = open_store(&args.url).await.map_err(|e| e.to_string())?;
    let ledger = Arc::new(PgLedger::new(pg_pool(&store), Arc::clone(&args.clock)));
    let leases = store
        .leases()
        .ok_or_else(|| "the store keeps no leases".to_string())?;
    let engine = Engine::builder()
        .event_log(store.event_log())
        .lead_directory(store.lead_directory())
        .linkedin(ledger.clone())
        .email(ledger)
        .clock(args.clock.clone())
        .cluster(ClusterConfig {
            node: args.name,
            leases,
            ttl: NODE_LEASE_TTL,
            renew_every: NODE_RENEWAL,
        })
        .auto_tick(std::time::Duration::from_millis(20))
        .build()
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(args.run_for).await;
    engine.shutdown().await;
    store.close().await;
    Ok(())
}
