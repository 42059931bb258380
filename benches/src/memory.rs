//! Benchmark 4, memory: resident bytes per active lead and per sender. The engine runs on a log
//! that keeps only the senders' streams and a lead directory that keeps nothing (what stays
//! resident with a SQL store, whose events and profiles live in the database), and, for
//! comparison, on the in-memory log and directory. The
//! caller supplies a way to read the process's live heap bytes (a counting global allocator in the
//! `plera-bench-memory` binary); `VmRSS` is read as well.

use async_trait::async_trait;
use cqrs_es::Aggregate;
use plera_actors::store::{EventLog, LogWrapper, MemoryEventLog, NewEvent, StoreError};
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadDirectory, LeadProfile, LeadSpec, MemoryLeadDirectory,
    SequentialIds, VirtualClock,
};
use plera_adapters::sandbox::SandboxWorld;
use plera_domain::ids::{CampaignId, LeadId, OwnerId, ProviderAccountId, WorkspaceId};
use plera_domain::play::Play;
use plera_domain::sender::SenderAccount;
use plera_domain::values::{ConnectionDegree, Tier};
use std::sync::Arc;

use crate::machine;
use crate::report::Figure;
use crate::rig::{no_pacing, quiet_world, sender_settings, start};

/// An event log that keeps the senders' streams only. A sender's actor reads its stream back when
/// it starts (after its connection is appended); nothing else is read after start-up (the
/// `store_cost` test), so with every other event dropped what stays resident is the engine's own
/// state, as with a SQL store whose events live in the database. A plain engine's log:
/// conditional appends (a clustered engine's) pass its filter by.
#[derive(Default)]
pub struct SenderStreamsLog {
    senders: MemoryEventLog,
}

#[async_trait]
impl LogWrapper for SenderStreamsLog {
    fn inner(&self) -> &dyn EventLog {
        &self.senders
    }

    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        let kept: Vec<NewEvent> = events
            .into_iter()
            .filter(|e| e.aggregate_type == SenderAccount::TYPE)
            .collect();
        if kept.is_empty() {
            return Ok(());
        }
        self.senders.append(kept).await
    }
}

/// A lead directory that keeps nothing (profiles live in the database with a SQL store).
#[derive(Default)]
pub struct NullDirectory;

#[async_trait]
impl LeadDirectory for NullDirectory {
    async fn put(&self, _w: &WorkspaceId, _l: &LeadId, _p: LeadProfile) -> Result<(), String> {
        Ok(())
    }

    async fn get(&self, _w: &WorkspaceId, _l: &LeadId) -> Result<Option<LeadProfile>, String> {
        Ok(None)
    }
}

/// Live heap bytes and resident bytes at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Bytes allocated and not freed.
    pub heap: u64,
    /// `VmRSS`.
    pub rss: u64,
}

fn sample(heap: &dyn Fn() -> u64) -> Sample {
    Sample {
        heap: heap(),
        rss: machine::rss_bytes().unwrap_or(0),
    }
}

fn per(after: Sample, before: Sample, n: usize) -> (f64, f64) {
    let d = |a: u64, b: u64| a.saturating_sub(b) as f64 / n.max(1) as f64;
    (d(after.heap, before.heap), d(after.rss, before.rss))
}

/// Builds an engine on `log`/`directory`, connects `senders` senders (measured), creates a
/// LinkedIn-first campaign over them and enrolls `leads` leads in batches of 1,000, then runs one
/// tick so every lead is queued in its sender's line (measured). Returns bytes per sender and per
/// lead, as (heap, rss) pairs.
pub async fn measure(
    log: Arc<dyn EventLog>,
    directory: Arc<dyn LeadDirectory>,
    senders: usize,
    leads: usize,
    heap: &dyn Fn() -> u64,
) -> Result<((f64, f64), (f64, f64)), String> {
    let clock = Arc::new(VirtualClock::new(start() + chrono::Duration::hours(9)));
    let world = SandboxWorld::new(quiet_world(1), clock.clone());
    let engine = Engine::builder()
        .event_log(log)
        .lead_directory(directory)
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(Arc::new(SequentialIds::default()))
        .quota_policy(no_pacing())
        .deterministic_tokens()
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let ws = WorkspaceId::new("ws");
    // One sender first, so the first-use costs (actix arbiter, registry) are not counted per sender.
    let mut accounts = Vec::new();
    let connect = |engine: Engine| async move {
        let link = engine
            .start_connection(&WorkspaceId::new("ws"), &OwnerId::new("owner"), None)
            .await
            .map_err(|e| e.to_string())?;
        engine
            .complete_connection(
                &link.state,
                &ProviderAccountId::new("li"),
                sender_settings()?,
            )
            .await
            .map_err(|e| e.to_string())
    };
    accounts.push(connect(engine.clone()).await?);
    let before = sample(heap);
    for _ in 0..senders {
        accounts.push(connect(engine.clone()).await?);
    }
    let per_sender = per(sample(heap), before, senders);
    for a in &accounts {
        world.add_account(a.clone(), ProviderAccountId::new("li"), Tier::Premium);
    }
    engine
        .register_mailbox(&ws, &"mb".into(), "sales@acme.io")
        .await
        .map_err(|e| e.to_string())?;
    let campaign = engine
        .create_campaign(
            &ws,
            CampaignSpec {
                id: Some(CampaignId::new("c")),
                name: "c".into(),
                play: Play::linkedin_first(),
                senders: accounts.clone(),
                mailbox: Some("mb".into()),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    let before = sample(heap);
    let mut n = 0;
    while n < leads {
        let batch: Vec<LeadSpec> = (n..(n + 1_000).min(leads))
            .map(|i| LeadSpec {
                lead_id: LeadId::new(format!("lead-{i}")),
                profile: LeadProfile::new(&format!("Ada{i}"), "Lovelace", &format!("Acme {i}"))
                    .with_email(&format!("ada{i}@acme.io")),
                connection_degree: ConnectionDegree::Second,
                sender: None,
            })
            .collect();
        n += batch.len();
        engine
            .enroll_many(&ws, &campaign, batch, EnrollOptions::default())
            .await
            .map_err(|e| e.to_string())?;
    }
    engine.tick().await.map_err(|e| e.to_string())?;
    let per_lead = per(sample(heap), before, leads);
    engine.shutdown().await;
    Ok((per_sender, per_lead))
}

/// One configuration (`engine_only`: nothing kept by the log and directory; else the in-memory
/// ones), as figures. Run each in a process of its own: the allocator keeps freed pages, so a
/// second measurement in the same process would see too little `VmRSS` growth.
pub async fn bench(
    senders: usize,
    leads: usize,
    engine_only: bool,
    heap: &dyn Fn() -> u64,
) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    let configs = [
        (
            "engine state only (log and profiles in the database)",
            Arc::new(SenderStreamsLog::default()) as Arc<dyn EventLog>,
            Arc::new(NullDirectory) as Arc<dyn LeadDirectory>,
        ),
        (
            "with MemoryEventLog + MemoryLeadDirectory",
            Arc::new(MemoryEventLog::new()) as Arc<dyn EventLog>,
            Arc::new(MemoryLeadDirectory::default()) as Arc<dyn LeadDirectory>,
        ),
    ];
    let [first, second] = configs;
    for (name, log, directory) in [if engine_only { first } else { second }] {
        let ((s_heap, s_rss), (l_heap, l_rss)) =
            measure(log, directory, senders, leads, heap).await?;
        let load = machine::load_1m();
        let store = "memory";
        figures.push(
            Figure::from_runs(
                "memory",
                store,
                format!("heap per active lead, {name}"),
                "bytes",
                vec![l_heap],
                load,
            )
            .note(format!("{leads} leads enrolled and queued")),
        );
        figures.push(Figure::from_runs(
            "memory",
            store,
            format!("RSS per active lead, {name}"),
            "bytes",
            vec![l_rss],
            load,
        ));
        figures.push(
            Figure::from_runs(
                "memory",
                store,
                format!("heap per sender, {name}"),
                "bytes",
                vec![s_heap],
                load,
            )
            .note(format!("{senders} senders connected")),
        );
        figures.push(Figure::from_runs(
            "memory",
            store,
            format!("RSS per sender, {name}"),
            "bytes",
            vec![s_rss],
            load,
        ));
    }
    Ok(figures)
}
