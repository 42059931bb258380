//! The real engine on a real store against a quiet sandbox world, on a virtual clock: what the
//! command-path and ingest benches drive.
//!
//! The world is quiet (no replies, faults, expiries; LinkedIn's caps raised) and pacing is off (no
//! minimum gap, no jitter, every hour of every day open), so the engine's own costs, not the
//! quota policy, bound the rate: every sender grants one slot per tick, and one tick runs one step
//! for every sender, with the two group commits.

use chrono::{DateTime, Duration, TimeDelta, TimeZone, Utc};
use plera_actors::store::{decode, EventLog, NewEvent, Tracked};
use plera_actors::{
    CampaignSpec, Engine, EnrollOptions, LeadDirectory, LeadProfile, LeadSpec, SenderSettings,
    SequentialIds, VirtualClock,
};
use plera_adapters::sandbox::{ProviderCaps, SandboxConfig, SandboxLead, SandboxWorld, TierCaps};
use plera_adapters::store::Store;
use plera_domain::ids::{
    AccountId, CampaignId, LeadId, OwnerId, ProviderAccountId, SequenceId, WorkspaceId,
};
use plera_domain::lead::{LeadSequence, LeadSequenceCommand, LeadSequenceEvent, StopReason};
use plera_domain::play::{Condition, Delay, Play, PlayStep};
use plera_domain::ports::Clock;
use plera_domain::quota::{QuotaPolicy, WorkingDays};
use plera_domain::values::{Action, ConnectionDegree, Limits, Tier, WorkingHours};
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::synth;

/// Message steps in the bench play (the most a play may have).
pub const PLAY_STEPS: usize = 20;

/// Monday 2 March 2026, 00:00 UTC.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A world where nothing happens by itself: no replies, acceptances, faults or expired sessions,
/// and caps far above the bench's use.
pub fn quiet_world(seed: u64) -> SandboxConfig {
    let caps = TierCaps {
        daily_invites: 100_000,
        weekly_invites: 100_000,
        daily_messages: 100_000,
    };
    SandboxConfig {
        acceptance_rate: 0.0,
        reply_rate_after_accept_with_note: 0.0,
        reply_rate_after_accept_without_note: 0.0,
        dm_reply_rate: 0.0,
        email_reply_rate: 0.0,
        out_of_office_rate: 0.0,
        session_expiry_per_account_day: 0.0,
        fault_rate: 0.0,
        caps: ProviderCaps {
            free: caps,
            premium: caps,
        },
        ..SandboxConfig::seeded(seed)
    }
}

/// Pacing off: the engine, not the policy, bounds the rate.
pub fn no_pacing() -> QuotaPolicy {
    QuotaPolicy {
        min_gap: TimeDelta::zero(),
        max_jitter: TimeDelta::zero(),
        working_days: WorkingDays::every_day(),
    }
}

/// `PLAY_STEPS` LinkedIn messages in a row, no delay: for leads who are 1st-degree connections.
pub fn message_play() -> Play {
    Play {
        name: "bench".into(),
        description: "message after message".into(),
        steps: (0..PLAY_STEPS)
            .map(|i| PlayStep {
                action: Action::Message,
                template: Some(format!(
                    "Hi {{{{first_name}}}}, note {i} on how {{{{company}}}} runs outbound."
                )),
                subject: None,
                delay: Delay::minutes(0),
                condition: Condition::IfAccepted,
            })
            .collect(),
    }
}

/// How big a rig is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RigSize {
    /// Senders (each with its own actor): the concurrency.
    pub senders: usize,
    /// Leads per sender.
    pub leads_per_sender: usize,
    /// Events in each lead's stream before the measured work (at least 1: `SequenceStarted`;
    /// the rest are pairs of retried steps).
    pub history: usize,
    /// Events of other, stopped leads added to the log before the measured engine starts (to
    /// tell a long history apart from a long log).
    pub filler: usize,
}

/// The engine and everything around it.
pub struct Rig {
    /// The engine.
    pub engine: Engine,
    /// The sandbox.
    pub world: SandboxWorld,
    /// The virtual clock.
    pub clock: Arc<VirtualClock>,
    /// The event log.
    pub log: Arc<dyn EventLog>,
    /// The lead directory.
    pub directory: Arc<dyn LeadDirectory>,
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The senders.
    pub senders: Vec<AccountId>,
    /// The campaign.
    pub campaign: CampaignId,
    /// Every enrolled lead's sequence and sender.
    pub sequences: Vec<(SequenceId, LeadId, AccountId)>,
    /// The set-up engine, idle, stopped with this one (see [`Rig::new`]).
    setup_engine: Engine,
}

/// What a measured run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCount {
    /// Steps started.
    pub steps: usize,
    /// Ticks.
    pub ticks: usize,
    /// Events appended.
    pub events: usize,
}

async fn build(
    log: &Arc<dyn EventLog>,
    directory: &Arc<dyn LeadDirectory>,
    world: &SandboxWorld,
    clock: &Arc<VirtualClock>,
    ids: &Arc<SequentialIds>,
) -> Result<Engine, String> {
    Engine::builder()
        .event_log(Arc::clone(log))
        .lead_directory(Arc::clone(directory))
        .linkedin(Arc::new(world.clone()))
        .email(Arc::new(world.clone()))
        .clock(clock.clone())
        .ids(ids.clone())
        .quota_policy(no_pacing())
        .seed(1)
        .deterministic_tokens()
        .build()
        .await
        .map_err(|e| e.to_string())
}

impl Rig {
    /// Sets up `size`: through `setup` (a log and directory), senders connected through the
    /// hosted-auth flow, one campaign over all of them, leads enrolled 1st-degree with an explicit
    /// sender; then, through `measured` (the same database opened again), histories appended
    /// behind the set-up engine's back and a new engine started from the log ten days later (so
    /// the histories' actions are out of every quota window).
    ///
    /// Two handles because a SQL pool's connections belong to the runtime that opened them: the
    /// set-up engine's actor system. It is left idle rather than stopped, so the measured engine
    /// never touches a connection of a runtime that is shutting down.
    pub async fn new(
        setup: (Arc<dyn EventLog>, Arc<dyn LeadDirectory>),
        measured: (Arc<dyn EventLog>, Arc<dyn LeadDirectory>),
        size: RigSize,
    ) -> Result<Self, String> {
        let (log, directory) = setup;
        let clock = Arc::new(VirtualClock::new(start()));
        let world = SandboxWorld::new(quiet_world(1), clock.clone());
        let ids = Arc::new(SequentialIds::default());
        let engine = build(&log, &directory, &world, &clock, &ids).await?;
        let workspace = WorkspaceId::new("ws");
        let mut senders = Vec::new();
        for i in 0..size.senders {
            let link = engine
                .start_connection(&workspace, &OwnerId::new("owner"), None)
                .await
                .map_err(|e| e.to_string())?;
            let provider = ProviderAccountId::new(format!("li-{i}"));
            let account = engine
                .complete_connection(&link.state, &provider, sender_settings()?)
                .await
                .map_err(|e| e.to_string())?;
            world.add_account_in(account.clone(), provider, Tier::Premium, chrono_tz::UTC);
            senders.push(account);
        }
        let campaign = engine
            .create_campaign(
                &workspace,
                CampaignSpec {
                    id: Some(CampaignId::new("bench")),
                    name: "bench".into(),
                    play: message_play(),
                    senders: senders.clone(),
                    mailbox: None,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut rig = Self {
            engine: engine.clone(),
            world,
            clock,
            log,
            directory,
            workspace,
            senders,
            campaign,
            sequences: Vec::new(),
            setup_engine: engine,
        };
        rig.enroll(size.leads_per_sender, "lead").await?;
        (rig.log, rig.directory) = measured;
        if size.history > 1 {
            rig.append_histories((size.history - 1) / 2).await?;
        }
        if size.filler > 0 {
            rig.append_filler(size.filler).await?;
        }
        rig.clock.advance_to(start() + Duration::days(10));
        rig.engine = build(&rig.log, &rig.directory, &rig.world, &rig.clock, &ids).await?;
        Ok(rig)
    }

    /// Enrolls `per_sender` 1st-degree leads `{prefix}-{sender}-{i}` on every sender, in one
    /// commit per sender.
    pub async fn enroll(&mut self, per_sender: usize, prefix: &str) -> Result<(), String> {
        for (s, account) in self.senders.clone().iter().enumerate() {
            let mut specs = Vec::new();
            for i in 0..per_sender {
                let lead = LeadId::new(format!("{prefix}-{s}-{i}"));
                self.world.add_lead(
                    lead.clone(),
                    SandboxLead {
                        email: None,
                        first_degree_with: BTreeSet::from([account.clone()]),
                    },
                );
                specs.push(LeadSpec {
                    lead_id: lead,
                    profile: LeadProfile::new(&format!("Ada{i}"), "Lovelace", &format!("Acme {s}")),
                    connection_degree: ConnectionDegree::First,
                    sender: Some(account.clone()),
                });
            }
            let leads: Vec<LeadId> = specs.iter().map(|s| s.lead_id.clone()).collect();
            let ids = self
                .engine
                .enroll_many(
                    &self.workspace,
                    &self.campaign,
                    specs,
                    EnrollOptions::default(),
                )
                .await
                .map_err(|e| e.to_string())?;
            for (id, lead) in ids.into_iter().zip(leads) {
                self.sequences.push((id, lead, account.clone()));
            }
        }
        Ok(())
    }

    /// Appends about `events` events of stopped leads that no sender runs: streams of 1,000
    /// events (enrolment, retried steps, a manual stop).
    async fn append_filler(&mut self, events: usize) -> Result<(), String> {
        let at = self.clock.now() + Duration::seconds(1);
        let campaign = self.campaign.clone();
        let mut batch: Vec<NewEvent> = Vec::new();
        for g in 0..events.div_ceil(1_000) {
            let lead = LeadId::new(format!("filler-{g}"));
            let account = &self.senders[g % self.senders.len()];
            let id = SequenceId::of(&self.workspace, &campaign, &lead);
            let mut t = Tracked::<LeadSequence>::default();
            let start = synth::start_command(&self.workspace, &campaign, &lead, account, at);
            batch.extend(synth::step(&mut t, id.as_str(), start).await);
            batch.extend(synth::retry_history(&mut t, &id, account, 499, at).await);
            let stop = LeadSequenceCommand::Stop {
                reason: StopReason::Manual,
                at,
            };
            batch.extend(synth::step(&mut t, id.as_str(), stop).await);
            if batch.len() >= 10_000 {
                self.log
                    .append(std::mem::take(&mut batch))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        self.log.append(batch).await.map_err(|e| e.to_string())
    }

    /// Appends `pairs` retried steps to every lead's stream, in large batches.
    async fn append_histories(&mut self, pairs: usize) -> Result<(), String> {
        let at = self.clock.now() + Duration::seconds(1);
        let mut batch: Vec<NewEvent> = Vec::new();
        for (id, _, account) in &self.sequences {
            let mut tracked = Tracked::<LeadSequence>::default();
            for stored in self
                .log
                .load("lead_sequence", id.as_str())
                .await
                .map_err(|e| e.to_string())?
            {
                let event: LeadSequenceEvent = decode(&stored).map_err(|e| e.to_string())?;
                tracked.apply_stored(event, stored.sequence);
            }
            batch.extend(synth::retry_history(&mut tracked, id, account, pairs, at).await);
            if batch.len() >= 10_000 {
                self.log
                    .append(std::mem::take(&mut batch))
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        self.log.append(batch).await.map_err(|e| e.to_string())
    }

    /// Ticks until nothing is due (or `max_steps` steps started), advancing the clock to each
    /// next due time.
    pub async fn run(&self, max_steps: usize) -> Result<RunCount, String> {
        let mut count = RunCount::default();
        for _ in 0..10_000_000 {
            let report = self.engine.tick().await.map_err(|e| e.to_string())?;
            count.ticks += 1;
            count.steps += report.started;
            count.events += report.events;
            if count.steps >= max_steps {
                break;
            }
            match report.next_due {
                Some(t) => self.clock.advance_to(t.max(self.clock.now())),
                None => break,
            }
        }
        Ok(count)
    }

    /// Stops both engines.
    pub async fn stop(self) {
        self.engine.shutdown().await;
        self.setup_engine.shutdown().await;
    }
}

/// A premium sender in UTC, open around the clock, with the highest limits the engine accepts.
pub fn sender_settings() -> Result<SenderSettings, String> {
    Ok(SenderSettings {
        tier: Tier::Premium,
        limits: Some(Limits {
            daily_invites: Limits::MAX_DAILY_INVITES,
            daily_messages: Limits::MAX_DAILY_MESSAGES,
            weekly_invites: Limits::MAX_WEEKLY_INVITES,
        }),
        timezone: chrono_tz::UTC,
        working_hours: WorkingHours::parse("00:00", "23:59").map_err(|e| e.to_string())?,
        warm_up: false,
    })
}

/// Opens the store behind a bench database.
pub async fn open(url: &str) -> Result<Store, String> {
    plera_adapters::store::open_store(url)
        .await
        .map_err(|e| e.to_string())
}
