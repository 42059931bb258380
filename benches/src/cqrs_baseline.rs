//! The plain cqrs-es path: `CqrsFramework::execute` on sqlite-es / postgres-es 0.5.0 repositories,
//! two commands (two commits) per step, on the same `LeadSequence` aggregate the engine runs. Every
//! `execute` loads the aggregate's whole stream, so its cost grows with the history.

use chrono::Duration;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{CqrsFramework, EventStore};
use plera_actors::store::{NewEvent, Tracked};
use plera_domain::ids::{AccountId, CampaignId, LeadId, SequenceId, WorkspaceId};
use plera_domain::lead::{LeadSequence, LeadSequenceCommand};
use plera_domain::values::Action;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use crate::db::{BenchDb, Kind};
use crate::rig::start;
use crate::synth;

const SQLITE_SCHEMA: &str = "
CREATE TABLE events (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence integer CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL,
  event_version text NOT NULL, payload text NOT NULL, metadata text NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)) STRICT;
CREATE TABLE snapshots (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  last_sequence integer CHECK (last_sequence >= 0) NOT NULL,
  current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL, payload text NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)) STRICT;";

const POSTGRES_SCHEMA: &str = "
CREATE TABLE events (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL,
  event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence));
CREATE TABLE snapshots (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
  current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL, payload json NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, last_sequence));";

/// One run's result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CqrsRun {
    /// Steps completed (two commands each).
    pub steps: usize,
    /// Wall time of the measured phase.
    pub elapsed: StdDuration,
    /// Commands that failed and were retried (database busy, optimistic lock).
    pub retries: usize,
}

impl CqrsRun {
    /// Steps per second.
    pub fn rate(&self) -> f64 {
        self.steps as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The streams the tasks start from: one lead per task with `history` events.
async fn histories(tasks: usize, history: usize) -> Vec<(SequenceId, AccountId, Vec<NewEvent>)> {
    let ws = WorkspaceId::new("ws");
    let campaign = CampaignId::new("bench");
    let mut out = Vec::new();
    for t in 0..tasks {
        let lead = LeadId::new(format!("lead-{t}"));
        let account = AccountId::new(format!("acc-{t}"));
        let id = SequenceId::of(&ws, &campaign, &lead);
        let mut tracked = Tracked::<LeadSequence>::default();
        let mut events = synth::step(
            &mut tracked,
            id.as_str(),
            synth::start_command(&ws, &campaign, &lead, &account, start()),
        )
        .await;
        let pairs = history.saturating_sub(1) / 2;
        events.extend(synth::retry_history(&mut tracked, &id, &account, pairs, start()).await);
        out.push((id, account, events));
    }
    out
}

/// Sets up sqlite-es's tables on `db`, fills the histories, and runs `tasks` concurrent tasks of
/// `steps` steps each through `CqrsFramework::execute`.
pub async fn run(
    db: &BenchDb,
    tasks: usize,
    steps: usize,
    history: usize,
) -> Result<CqrsRun, String> {
    let streams = histories(tasks, history).await;
    match db.kind() {
        Kind::Sqlite => {
            // sqlite-es's `default_sqlite_pool`: 10 connections, WAL, synchronous=NORMAL.
            let pool = db.sqlite_pool(10).await?;
            sqlx::raw_sql(SQLITE_SCHEMA)
                .execute(&pool)
                .await
                .map_err(|e| e.to_string())?;
            for chunk in streams
                .iter()
                .flat_map(|s| s.2.iter())
                .collect::<Vec<_>>()
                .chunks(100)
            {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                     event_version, payload, metadata) ",
                );
                q.push_values(chunk, |mut row, e| {
                    row.push_bind(&e.aggregate_type)
                        .push_bind(&e.aggregate_id)
                        .push_bind(e.sequence as i64)
                        .push_bind(&e.event_type)
                        .push_bind(&e.event_version)
                        .push_bind(e.payload.to_string())
                        .push_bind("{}");
                });
                q.build().execute(&pool).await.map_err(|e| e.to_string())?;
            }
            let cqrs = sqlite_es::sqlite_cqrs::<LeadSequence>(pool.clone(), vec![], ());
            let out = drive(Arc::new(cqrs), streams, steps, history).await;
            pool.close().await;
            Ok(out)
        }
        Kind::Postgres => {
            // postgres-es's `default_postgress_pool`: 10 connections.
            let pool = db.pg_pool(10).await?;
            sqlx::raw_sql(POSTGRES_SCHEMA)
                .execute(&pool)
                .await
                .map_err(|e| e.to_string())?;
            let all: Vec<&NewEvent> = streams.iter().flat_map(|s| s.2.iter()).collect();
            for chunk in all.chunks(5_000) {
                sqlx::query(
                    "INSERT INTO events SELECT t, i, s, et, ev, p::json, '{}'::json \
                     FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], \
                     $6::text[]) AS u(t, i, s, et, ev, p)",
                )
                .bind(
                    chunk
                        .iter()
                        .map(|e| e.aggregate_type.clone())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    chunk
                        .iter()
                        .map(|e| e.aggregate_id.clone())
                        .collect::<Vec<_>>(),
                )
                .bind(chunk.iter().map(|e| e.sequence as i64).collect::<Vec<_>>())
                .bind(
                    chunk
                        .iter()
                        .map(|e| e.event_type.clone())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    chunk
                        .iter()
                        .map(|e| e.event_version.clone())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    chunk
                        .iter()
                        .map(|e| e.payload.to_string())
                        .collect::<Vec<_>>(),
                )
                .execute(&pool)
                .await
                .map_err(|e| e.to_string())?;
            }
            let cqrs = postgres_es::postgres_cqrs::<LeadSequence>(pool.clone(), vec![], ());
            let out = drive(Arc::new(cqrs), streams, steps, history).await;
            pool.close().await;
            Ok(out)
        }
    }
}

type Framework<R> = CqrsFramework<LeadSequence, PersistedEventStore<R, LeadSequence>>;

async fn drive<R>(
    cqrs: Arc<Framework<R>>,
    streams: Vec<(SequenceId, AccountId, Vec<NewEvent>)>,
    steps: usize,
    history: usize,
) -> CqrsRun
where
    R: cqrs_es::persist::PersistedEventRepository + 'static,
    PersistedEventStore<R, LeadSequence>: EventStore<LeadSequence>,
    <PersistedEventStore<R, LeadSequence> as EventStore<LeadSequence>>::AC: Send,
{
    let at = start() + Duration::days(10) + Duration::seconds(history as i64);
    let began = Instant::now();
    let mut tasks = Vec::new();
    for (id, account, _) in streams {
        let cqrs = Arc::clone(&cqrs);
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            let mut retries = 0;
            for step in 0..steps as u32 {
                let start = LeadSequenceCommand::StartStep {
                    step,
                    action: Action::Message,
                    account_id: Some(account.clone()),
                    mailbox_id: None,
                    at,
                };
                let sent = LeadSequenceCommand::RecordMessageSent {
                    step,
                    account_id: account.clone(),
                    text: format!("Hi Ada, note {step} on how Acme runs outbound."),
                    at,
                };
                for command in [start, sent] {
                    let mut tries = 0;
                    while let Err(e) = cqrs.execute(id.as_str(), command.clone()).await {
                        retries += 1;
                        tries += 1;
                        if tries > 20 {
                            eprintln!("cqrs-es: giving up on {id}: {e}");
                            return (done, retries);
                        }
                    }
                }
                done += 1;
            }
            (done, retries)
        }));
    }
    let mut steps_done = 0;
    let mut retries = 0;
    for t in tasks {
        if let Ok((d, r)) = t.await {
            steps_done += d;
            retries += r;
        }
    }
    CqrsRun {
        steps: steps_done,
        elapsed: began.elapsed(),
        retries,
    }
}
