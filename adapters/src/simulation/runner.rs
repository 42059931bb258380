//! The simulation loop: the real engine on the chosen store against the sandbox world on a virtual
//! clock. The clock jumps to whatever comes first (the engine's next due step, the world's next
//! notification, the simulated users' next action), the world's notifications are ingested, and
//! what is due runs. An injected crash drops the engine, reopens the store and rebuilds from the
//! log; a session that expires is reconnected by its user a little later; a restricted sender is
//! resumed by its user once LinkedIn's restriction is over. The views (inbox, senders, funnels)
//! are caught up at the start of every simulated day and at the end, as a dashboard beside a live
//! engine would keep them.

use chrono::{DateTime, Duration, Utc};
use plera_actors::driver::ClusterConfig;
use plera_actors::driver::CrashPoints;
use plera_actors::{
    CampaignSpec, Engine, EngineError, EnrollOptions, LeadDirectory, LeadSpec, MemoryLeadDirectory,
    SenderSettings, SequentialIds, VirtualClock,
};
use plera_domain::ids::{AccountId, OwnerId, ProviderAccountId};
use plera_domain::ports::{AccountStatusSignal, Clock, InboundEvent};
use plera_domain::seed::mix;
use plera_domain::sender::{PauseReason, SenderStatus};
use plera_domain::values::ConnectionDegree;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::crashes::SeededCrashes;
use super::edges::Edges;
use super::scenario::{LeadPlan, Scenario, SenderPlan};
use super::{SimulationError, SimulationOptions};
use crate::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use crate::store::{open_store, Store};
use crate::views::{ViewLeases, Views};

/// How often the loop polls the provider's listings (the fallback for dropped notifications).
const POLL_EVERY: Duration = Duration::hours(1);

/// How many times the loop may run at one instant before it is declared stuck: the engine and the
/// world must move time forward, and a bug that keeps one instant due must not hang the CLI.
const MAX_ROUNDS_AT_ONE_INSTANT: u32 = 10_000;

/// How long LinkedIn's restriction lasts, as the simulated user knows it (sandbox default).
const RESTRICTION: Duration = Duration::days(7);

/// How long a simulated node's lease lasts unrenewed (virtual time): how long a dead node's
/// senders wait for another node.
const LEASE_TTL: Duration = Duration::minutes(30);

/// How often a simulated node renews its leases and looks at its share of the senders.
const LEASE_RENEWAL: Duration = Duration::minutes(10);

/// One engine instance of a simulation: up, or down until it rejoins.
struct Node {
    engine: Option<Engine>,
    /// Its own connections (a separate process would have its own pool).
    store: Store,
    /// The views it keeps current (with several nodes, those whose lease it holds).
    views: Views,
    down_until: Option<DateTime<Utc>>,
    /// How many times it was (re)built: part of its lease name, so a rejoined node never holds
    /// its previous life's leases.
    lives: u32,
}

/// What the simulated users do, besides what the engine does by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum UserAction {
    /// Enroll the leads of one wave.
    Enroll(usize),
    /// The owner of sender `i` reconnects its expired session.
    Reconnect(usize),
    /// Each night, owners look at their senders and resume the ones whose restriction is over.
    DailyCheck,
}

/// What a run did besides the log: the world (its ledger), the store and a few counts.
pub struct SimulationOutcome {
    /// The sandbox world, with its ledger.
    pub world: SandboxWorld,
    /// The store the log was written to (reopened after each crash).
    pub store: Store,
    /// The company that was simulated.
    pub scenario: Scenario,
    /// The senders' ids, in scenario order.
    pub accounts: Vec<AccountId>,
    /// How many times the engine was rebuilt after an injected crash.
    pub restarts: u32,
    /// Enrollments refused, by error (a lead tried in a second campaign: already in a sequence).
    pub refused_enrollments: BTreeMap<String, u32>,
    /// Expired sessions their users reconnected.
    pub reconnects: u32,
    /// Restricted senders their users resumed.
    pub resumed: u32,
    /// When the simulated period ended.
    pub end: DateTime<Utc>,
}

/// One running simulation.
pub(super) struct Run<'p> {
    options: SimulationOptions,
    scenario: Scenario,
    url: String,
    store: Store,
    views: Views,
    /// The simulated day (from 0) the views were last caught up in.
    views_day: i64,
    /// When the provider's listings were last polled (the fallback for dropped notifications).
    last_poll: DateTime<Utc>,
    nodes: Vec<Node>,
    /// Which live node the next API call goes to (round robin).
    api_turn: usize,
    world: SandboxWorld,
    clock: Arc<VirtualClock>,
    directory: Arc<dyn LeadDirectory>,
    ids: Arc<SequentialIds>,
    crashes: Arc<SeededCrashes>,
    accounts: Vec<AccountId>,
    agenda: BTreeSet<(DateTime<Utc>, UserAction)>,
    end: DateTime<Utc>,
    restarts: u32,
    refused: BTreeMap<String, u32>,
    reconnects: u32,
    resumed: u32,
    progress: &'p mut dyn FnMut(DateTime<Utc>),
    edges: Box<dyn Edges>,
}

impl<'p> Run<'p> {
    /// Sets up the world and an engine on `store`, reaching the world through `edges`.
    pub(super) async fn start(
        options: SimulationOptions,
        url: &str,
        store: Store,
        progress: &'p mut dyn FnMut(DateTime<Utc>),
        mut edges: Box<dyn Edges>,
    ) -> Result<Run<'p>, SimulationError> {
        let scenario = Scenario::generate(options.size, options.start);
        let start = scenario.start;
        let end = start + Duration::days(i64::from(options.size.days));
        let clock = Arc::new(VirtualClock::new(start));
        let config = SandboxConfig {
            fault_rate: options.faults,
            ..SandboxConfig::seeded(options.size.seed)
        };
        let world = SandboxWorld::new(config, clock.clone());
        let crashes = Arc::new(SeededCrashes::new(
            options.size.seed,
            options.crashes,
            start,
            end,
            clock.clone(),
        ));
        let directory: Arc<dyn LeadDirectory> = Arc::new(MemoryLeadDirectory::default());
        let ids = Arc::new(SequentialIds::default());
        if options.nodes > 1 && store.leases().is_none() {
            return Err(SimulationError::Unsupported(
                "several nodes share a database through its leases: use PostgreSQL".into(),
            ));
        }
        edges.open(&world, &clock, &scenario).await?;
        let mut nodes = Vec::new();
        for i in 0..options.nodes.max(1) {
            // Alone, the engine uses the run's store (a crash reopens it). With several nodes,
            // each has a pool of its own, as a process would: a killed node's connections die
            // with its runtime and must not be the ones the run's views and audit read through.
            let node_store = if options.nodes <= 1 {
                store.clone()
            } else {
                open_store(url).await?
            };
            let built = build(
                options.size.seed,
                &node_store,
                edges.as_mut(),
                &clock,
                &directory,
                &ids,
                crashes.clone(),
                cluster_config(&options, &node_store, i as usize, 0),
            )
            .await;
            match built {
                Ok(engine) => nodes.push(Node {
                    engine: Some(engine),
                    views: node_views(&options, &node_store, &clock, i as usize, 0),
                    store: node_store,
                    down_until: None,
                    lives: 1,
                }),
                Err(e) => {
                    for n in nodes {
                        if let Some(engine) = n.engine {
                            engine.shutdown().await;
                        }
                    }
                    edges.close().await;
                    return Err(e);
                }
            }
        }
        let mut agenda = BTreeSet::new();
        for (i, at) in scenario.waves.iter().enumerate() {
            agenda.insert((*at, UserAction::Enroll(i)));
        }
        let mut day = start + Duration::days(1);
        while day < end {
            agenda.insert((day, UserAction::DailyCheck));
            day += Duration::days(1);
        }
        let views = Views::new(&store);
        let mut run = Run {
            options,
            scenario,
            url: url.to_string(),
            store,
            views,
            views_day: 0,
            last_poll: start,
            nodes,
            api_turn: 0,
            world,
            clock,
            directory,
            ids,
            crashes,
            accounts: Vec::new(),
            agenda,
            end,
            restarts: 0,
            refused: BTreeMap::new(),
            reconnects: 0,
            resumed: 0,
            progress,
            edges,
        };
        if let Err(e) = run.set_up().await {
            run.shutdown_all().await;
            run.edges.close().await;
            return Err(e);
        }
        Ok(run)
    }

    /// Connects the senders, registers the mailboxes, creates the campaigns, adds the leads to
    /// the world.
    async fn set_up(&mut self) -> Result<(), SimulationError> {
        let ws = self.scenario.workspace.clone();
        for plan in self.scenario.senders.clone() {
            let engine = self.api()?;
            let link = engine
                .start_connection(&ws, &owner(&plan.first_name), None)
                .await?;
            let provider = ProviderAccountId::new(plan.provider_id.clone());
            let account = engine
                .complete_connection(&link.state, &provider, settings(&plan))
                .await?;
            self.edges
                .account_connected(account.clone(), provider, plan.tier, plan.timezone);
            self.accounts.push(account);
        }
        let engine = self.api()?;
        for (mailbox, address) in &self.scenario.mailboxes {
            engine.register_mailbox(&ws, mailbox, address).await?;
        }
        for plan in &self.scenario.campaigns {
            engine
                .create_campaign(
                    &ws,
                    CampaignSpec {
                        id: Some(plan.id.clone()),
                        name: plan.name.clone(),
                        play: plan.play.clone(),
                        senders: plan
                            .senders
                            .iter()
                            .map(|i| self.accounts[*i].clone())
                            .collect(),
                        mailbox: self
                            .scenario
                            .mailboxes
                            .get(plan.mailbox)
                            .map(|m| m.0.clone()),
                    },
                )
                .await?;
        }
        for lead in &self.scenario.leads {
            self.world.add_lead(
                lead.id.clone(),
                SandboxLead {
                    email: lead.profile.email.clone(),
                    first_degree_with: lead
                        .connected_with
                        .iter()
                        .map(|i| self.accounts[*i].clone())
                        .collect(),
                },
            );
        }
        Ok(())
    }

    /// Runs to the end of the simulated period and stops the engine.
    pub(super) async fn finish(mut self) -> Result<SimulationOutcome, SimulationError> {
        let result = self.run_to_end().await;
        self.shutdown_all().await;
        self.edges.close().await;
        result?;
        if !is_memory_url(&self.url) {
            // The engines' runtimes are gone, and with them the connections they opened in the
            // pool: whoever reads the outcome gets a pool of its own.
            self.store.close().await;
            self.store = open_store(&self.url).await?;
        }
        Ok(SimulationOutcome {
            world: self.world,
            store: self.store,
            scenario: self.scenario,
            accounts: self.accounts,
            restarts: self.restarts,
            refused_enrollments: self.refused,
            reconnects: self.reconnects,
            resumed: self.resumed,
            end: self.end,
        })
    }

    async fn run_to_end(&mut self) -> Result<(), SimulationError> {
        let mut last = self.clock.now();
        let mut rounds_here = 0u32;
        loop {
            let now = self.clock.now();
            if now == last {
                rounds_here += 1;
                if rounds_here > MAX_ROUNDS_AT_ONE_INSTANT {
                    return Err(SimulationError::Stalled(now));
                }
            } else {
                (last, rounds_here) = (now, 0);
            }
            (self.progress)(now);
            self.catch_up_views(now).await?;
            self.user_actions(now).await?;
            for event in self.world.take_notifications(now) {
                self.ingest(event).await?;
            }
            self.poll(now).await?;
            self.revive_nodes(now).await?;
            let mut crashed = false;
            // When each node next has work: from its tick's report, or from asking it when it
            // was not due (one message less per node and step: the loop runs thousands).
            let mut next_node = None;
            for i in 0..self.nodes.len() {
                let Some(engine) = self.nodes[i].engine.clone() else {
                    next_node = [next_node, self.nodes[i].down_until]
                        .into_iter()
                        .flatten()
                        .min();
                    continue;
                };
                // With several nodes, a node ticks when its own work (or lease renewal) is due;
                // what the others wrote reaches it through the log at that tick.
                if self.nodes.len() > 1 {
                    let due = engine.next_due().await?;
                    if due.is_none_or(|t| t > now) {
                        next_node = [next_node, due].into_iter().flatten().min();
                        continue;
                    }
                }
                match engine.tick().await {
                    Ok(report) => {
                        next_node = [next_node, report.next_due].into_iter().flatten().min();
                    }
                    Err(EngineError::Crashed) => {
                        self.restart(i).await?;
                        crashed = true;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if crashed {
                continue;
            }
            let next = [
                next_node,
                self.world.next_notification_at(),
                self.agenda.first().map(|(at, _)| *at),
                Some(self.last_poll + POLL_EVERY),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t < self.end => self.clock.advance_to(t.max(now)),
                _ => break,
            }
        }
        self.clock.advance_to(self.end);
        // A last look at the provider's listings: what was dropped in the final hour is on record
        // too, as a real deployment's next poll would put it.
        self.last_poll = self.last_poll.min(self.end - POLL_EVERY);
        self.poll(self.end).await?;
        self.views.catch_up_all().await?;
        (self.progress)(self.end);
        Ok(())
    }

    /// Every [`POLL_EVERY`], asks the provider for what its notifications may have dropped —
    /// relations and messages of every sender, replies in every mailbox — and feeds it to the
    /// engine, which drops what it already knows. Notifications are not reliable; this is.
    async fn poll(&mut self, now: DateTime<Utc>) -> Result<(), SimulationError> {
        if now < self.last_poll + POLL_EVERY {
            return Ok(());
        }
        let since = self.last_poll;
        let mut found = Vec::new();
        for account in &self.accounts {
            match self.world.poll(account, since) {
                Ok(events) => found.extend(events),
                Err(e) => tracing::debug!(%account, %e, "poll refused"),
            }
        }
        for (mailbox, _) in &self.scenario.mailboxes {
            found.extend(self.world.poll_mailbox(mailbox, since));
        }
        for event in found {
            self.ingest(event).await?;
        }
        self.last_poll = now;
        Ok(())
    }

    /// Brings the views up to the log once per simulated day: cheap (a day's events), and the
    /// runner is exercised in many small batches as beside a live engine, not in one at the end.
    async fn catch_up_views(&mut self, now: DateTime<Utc>) -> Result<(), SimulationError> {
        let day = (now - self.scenario.start).num_days();
        if day > self.views_day {
            for node in &self.nodes {
                if node.engine.is_some() {
                    node.views.catch_up_all().await?;
                }
            }
            self.views_day = day;
        }
        Ok(())
    }

    async fn user_actions(&mut self, now: DateTime<Utc>) -> Result<(), SimulationError> {
        while let Some(&(at, action)) = self.agenda.first() {
            if at > now {
                break;
            }
            self.agenda.remove(&(at, action));
            match action {
                UserAction::Enroll(wave) => self.enroll_wave(wave).await?,
                UserAction::Reconnect(i) => self.reconnect(i).await?,
                UserAction::DailyCheck => self.daily_check(now).await?,
            }
        }
        Ok(())
    }

    async fn enroll_wave(&mut self, wave: usize) -> Result<(), SimulationError> {
        let ws = self.scenario.workspace.clone();
        let leads: Vec<LeadPlan> = self
            .scenario
            .leads
            .iter()
            .filter(|l| l.wave == wave)
            .cloned()
            .collect();
        tracing::debug!(wave, leads = leads.len(), "enrollment wave");
        for (c, campaign) in self.scenario.campaigns.clone().iter().enumerate() {
            let specs: Vec<LeadSpec> = leads
                .iter()
                .filter(|l| l.campaign == c)
                .map(|l| self.spec(l))
                .collect();
            if !specs.is_empty() {
                self.api()?
                    .enroll_many(&ws, &campaign.id, specs, EnrollOptions::default())
                    .await?;
            }
        }
        // Someone else in the team tries the same people in another campaign: refused.
        for lead in leads {
            let Some(second) = lead.second_campaign else {
                continue;
            };
            let campaign = self.scenario.campaigns[second].clone();
            let mut spec = self.spec(&lead);
            spec.sender = None;
            spec.connection_degree = ConnectionDegree::Second;
            match self
                .api()?
                .enroll(&ws, &campaign.id, spec, EnrollOptions::default())
                .await
            {
                Ok(_) => {}
                Err(
                    e @ (EngineError::AlreadyInSequence(_)
                    | EngineError::PreviouslyReplied(_)
                    | EngineError::OptedOut(_)),
                ) => {
                    *self.refused.entry(refusal_kind(&e).into()).or_default() += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn spec(&self, lead: &LeadPlan) -> LeadSpec {
        let sender = &self.scenario.senders[lead.sender];
        LeadSpec {
            lead_id: lead.id.clone(),
            profile: lead
                .profile
                .clone()
                .with_var("sender_first_name", &sender.first_name),
            connection_degree: lead.degree,
            sender: Some(self.accounts[lead.sender].clone()),
        }
    }

    async fn ingest(&mut self, event: InboundEvent) -> Result<(), SimulationError> {
        let expired = match &event {
            InboundEvent::AccountStatus {
                account,
                status: AccountStatusSignal::CredentialsExpired,
                at,
            } => Some((account.clone(), *at)),
            _ => None,
        };
        // Any live node takes it; the lead's sender may run on another (the log carries it there).
        let engine = self.api()?;
        self.edges
            .deliver(&engine, &self.scenario.workspace, event)
            .await?;
        if let Some((account, at)) = expired {
            if let Some(i) = self.accounts.iter().position(|a| *a == account) {
                let already = self
                    .agenda
                    .iter()
                    .any(|(_, a)| *a == UserAction::Reconnect(i));
                if !already {
                    // The owner notices within the next few hours.
                    let draw = mix(
                        self.options.size.seed,
                        &["reconnect", account.as_str(), &at.to_rfc3339()],
                    );
                    let when = self.clock.now() + Duration::minutes(30 + (draw % 330) as i64);
                    self.agenda.insert((when, UserAction::Reconnect(i)));
                }
            }
        }
        Ok(())
    }

    async fn reconnect(&mut self, i: usize) -> Result<(), SimulationError> {
        let ws = self.scenario.workspace.clone();
        let account = self.accounts[i].clone();
        let plan = self.scenario.senders[i].clone();
        let engine = self.api()?;
        let link = engine
            .start_connection(&ws, &owner(&plan.first_name), Some(&account))
            .await?;
        self.edges.session_renewed(&account)?;
        match engine
            .complete_connection(
                &link.state,
                &ProviderAccountId::new(plan.provider_id.clone()),
                settings(&plan),
            )
            .await
        {
            Ok(_) => {
                self.reconnects += 1;
                tracing::info!(%account, "session reconnected");
            }
            // The engine had not (yet) seen the session expire: nothing to reconnect.
            Err(EngineError::Sender(e)) => tracing::debug!(%account, %e, "reconnect refused"),
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    async fn daily_check(&mut self, now: DateTime<Utc>) -> Result<(), SimulationError> {
        let ws = self.scenario.workspace.clone();
        for (i, account) in self.accounts.clone().into_iter().enumerate() {
            let engine = self.api()?;
            let view = engine.sender_status(&ws, &account).await?;
            // The engine may have learnt of an expiry from a refused send before (or without)
            // the provider's notice: the user sees it on the dashboard and reconnects.
            if view.status == SenderStatus::NeedsReconnect {
                self.reconnect(i).await?;
                continue;
            }
            let since = view.account_state.pause().map(|p| (p.reason, p.since));
            if let (SenderStatus::Restricted, Some((PauseReason::Restricted, since))) =
                (view.status, since)
            {
                if since + RESTRICTION <= now {
                    engine.resume_sender(&ws, &account).await?;
                    self.resumed += 1;
                    tracing::info!(%account, "restriction over: sender resumed");
                }
            }
        }
        Ok(())
    }

    /// Starts a catch-up of the views and abandons it after a few steps (drawn from the seed and
    /// the crash count), as a process dying in the middle of a projection batch would.
    async fn crash_views_mid_batch(&mut self, i: usize) {
        let steps = 1 + plera_domain::seed::mix(
            self.options.size.seed,
            &["views-crash", &self.restarts.to_string()],
        ) % 6;
        let mut catch_up = Box::pin(self.nodes[i].views.catch_up_all());
        for _ in 0..steps {
            if futures::poll!(catch_up.as_mut()).is_ready() {
                break;
            }
            tokio::task::yield_now().await;
        }
        // Dropped here, finished or not.
    }

    /// Drops node `i`'s engine as a crash would. Alone, it is rebuilt from the log at once (on
    /// a reopened store); with others, it stays down for a while (its senders wait for their
    /// leases to lapse and move to the live nodes) and rejoins later. The crash also cuts a
    /// projection catch-up in the middle of its batch: the views' transaction is dropped
    /// unfinished, and the next catch-up must apply that batch exactly once.
    async fn restart(&mut self, i: usize) -> Result<(), SimulationError> {
        self.crash_views_mid_batch(i).await;
        if let Some(engine) = self.nodes[i].engine.take() {
            // Killed: its leases stay until they lapse.
            engine.stop_abruptly().await;
        }
        self.restarts += 1;
        let live = self.nodes.iter().filter(|n| n.engine.is_some()).count();
        let now = self.clock.now();
        if live == 0 {
            // Never all down: the last one comes back at once, as a lone engine does.
            self.rebuild(i).await?;
            tracing::info!(at = %now, node = i, "engine rebuilt from the log after a crash");
        } else {
            let draw = mix(
                self.options.size.seed,
                &["node-down", &i.to_string(), &self.restarts.to_string()],
            );
            let down = Duration::minutes(30 + (draw % 210) as i64);
            // Its connections died with it.
            self.nodes[i].store.close().await;
            self.nodes[i].down_until = Some(now + down);
            tracing::info!(at = %now, node = i, until = %(now + down), "node killed");
        }
        Ok(())
    }

    /// Rebuilds node `i` from the log on a reopened store.
    async fn rebuild(&mut self, i: usize) -> Result<(), SimulationError> {
        if !is_memory_url(&self.url) {
            self.nodes[i].store.close().await;
            self.nodes[i].store = open_store(&self.url).await?;
            if self.nodes.len() == 1 {
                self.store = self.nodes[0].store.clone();
                self.views = Views::new(&self.store);
            }
        }
        let lives = self.nodes[i].lives;
        self.nodes[i].views =
            node_views(&self.options, &self.nodes[i].store, &self.clock, i, lives);
        let cluster = cluster_config(&self.options, &self.nodes[i].store, i, lives);
        let engine = build(
            self.options.size.seed,
            &self.nodes[i].store,
            self.edges.as_mut(),
            &self.clock,
            &self.directory,
            &self.ids,
            self.crashes.clone(),
            cluster,
        )
        .await?;
        let node = &mut self.nodes[i];
        node.engine = Some(engine);
        node.down_until = None;
        node.lives += 1;
        Ok(())
    }

    /// Brings back the nodes whose time down is over.
    async fn revive_nodes(&mut self, now: DateTime<Utc>) -> Result<(), SimulationError> {
        for i in 0..self.nodes.len() {
            if self.nodes[i].engine.is_none() && self.nodes[i].down_until.is_some_and(|t| t <= now)
            {
                self.rebuild(i).await?;
                tracing::info!(at = %now, node = i, "node rejoined");
            }
        }
        Ok(())
    }

    /// The live node the next API call goes to: round robin, so commands and notifications
    /// land on nodes that do not run the sender concerned.
    fn api(&mut self) -> Result<Engine, SimulationError> {
        let n = self.nodes.len();
        for k in 0..n {
            let i = (self.api_turn + k) % n;
            if let Some(engine) = &self.nodes[i].engine {
                self.api_turn = i + 1;
                return Ok(engine.clone());
            }
        }
        Err(SimulationError::Engine(EngineError::SystemDown))
    }

    async fn shutdown_all(&mut self) {
        for node in &mut self.nodes {
            if let Some(engine) = node.engine.take() {
                engine.shutdown().await;
            }
        }
    }
}

/// The views node `i` keeps: all of them alone, else those whose lease it holds.
fn node_views(
    options: &SimulationOptions,
    store: &Store,
    clock: &Arc<VirtualClock>,
    i: usize,
    lives: u32,
) -> Views {
    let views = Views::new(store);
    if let (true, Some(leases)) = (options.nodes > 1, store.leases()) {
        views.hold_leases(ViewLeases {
            node: format!("node-{i}.{lives}"),
            leases,
            clock: clock.clone(),
            ttl: LEASE_TTL,
        });
    }
    views
}

/// Node `i`'s part in a cluster (`None` when it runs alone).
fn cluster_config(
    options: &SimulationOptions,
    store: &Store,
    i: usize,
    lives: u32,
) -> Option<ClusterConfig> {
    if options.nodes <= 1 {
        return None;
    }
    Some(ClusterConfig {
        node: format!("node-{i}.{lives}"),
        leases: store.leases()?,
        ttl: LEASE_TTL,
        renew_every: LEASE_RENEWAL,
    })
}

fn refusal_kind(e: &EngineError) -> &'static str {
    match e {
        EngineError::AlreadyInSequence(_) => "already_in_sequence",
        EngineError::PreviouslyReplied(_) => "previously_replied",
        _ => "opted_out",
    }
}

fn owner(first_name: &str) -> OwnerId {
    OwnerId::new(first_name.to_lowercase())
}

fn settings(plan: &SenderPlan) -> SenderSettings {
    SenderSettings {
        tier: plan.tier,
        limits: Some(plan.limits),
        timezone: plan.timezone,
        working_hours: plan.working_hours,
        warm_up: plan.warm_up,
    }
}

/// Whether `url` names an in-memory database (which a reopen would lose).
pub(crate) fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[allow(clippy::too_many_arguments)]
async fn build(
    seed: u64,
    store: &Store,
    edges: &mut dyn Edges,
    clock: &Arc<VirtualClock>,
    directory: &Arc<dyn LeadDirectory>,
    ids: &Arc<SequentialIds>,
    crashes: Arc<dyn CrashPoints>,
    cluster: Option<ClusterConfig>,
) -> Result<Engine, SimulationError> {
    let gateways = edges.gateways(store.event_log())?;
    let mut builder = Engine::builder();
    if let Some(cluster) = cluster {
        builder = builder.cluster(cluster);
    }
    let engine = builder
        .event_log(store.event_log())
        .linkedin(gateways.linkedin)
        .email(gateways.email)
        .clock(clock.clone())
        .ids(ids.clone())
        .lead_directory(Arc::clone(directory))
        .seed(seed)
        .deterministic_tokens()
        .crash_points(crashes)
        .build()
        .await?;
    if let Err(e) = edges.attach(&engine).await {
        engine.shutdown().await;
        return Err(e);
    }
    Ok(engine)
}
