//! Reliability with the polling fallback: the simulated company of a seed on the real engine
//! (SQLite, seeded crashes) against a provider that repeats, drops, holds back and delays its
//! notifications, driven by a loop that also polls the provider's listings every hour, as a
//! production deployment does (`webhook::Poller`). Besides the invariants, what polling must
//! buy is checked: no answer and no acceptance is lost for good, and nothing is sent to a lead
//! later than one polling period after the lead answered.
//!
//! ```text
//! PLERA_SEED=17 cargo test -p plera-tests --test reliability_polling one_polled_seed -- --nocapture
//! ```

use chrono::{DateTime, Duration, Utc};
use plera_actors::store::StoredEvent;
use plera_actors::{CampaignSpec, EngineError, EnrollOptions, LeadSpec, SenderSettings};
use plera_adapters::audit::audit_log;
use plera_adapters::sandbox::{FaultModel, SandboxConfig};
use plera_adapters::simulation::scenario::{LeadPlan, SenderPlan};
use plera_adapters::simulation::{default_start, Scenario, ScenarioSize, SeededCrashes};
use plera_domain::ids::{AccountId, OwnerId, ProviderAccountId};
use plera_domain::ports::{AccountStatusSignal, InboundEvent};
use plera_domain::sender::{PauseReason, SenderStatus};
use plera_tests::{gap_violations, sent_vs_ledger, CrashPoint, CrashPoints, Harness, StoreKind};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// How often the provider's listings are read.
const POLL_EVERY: Duration = Duration::hours(1);
/// Days, leads, senders, fault rate and crashes of one run.
const DAYS: u32 = 10;
const LEADS: u32 = 60;
const ACCOUNTS: u32 = 3;
const FAULTS: f64 = 0.1;
const CRASHES: u32 = 2;
/// How long LinkedIn's restriction lasts (the sandbox's default policy).
const RESTRICTION: Duration = Duration::days(7);
/// The seeds of `polled_seeds` when `PLERA_SEEDS` does not say.
const SEEDS: RangeInclusive<u64> = 1..=20;

/// What the simulated users and the deployment do besides the engine's own work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Chore {
    /// Enroll one wave of leads.
    Enroll(usize),
    /// Read every sender's relations and chats and every mailbox, feed what is new.
    Poll,
    /// Owners resume senders whose restriction is over and reconnect expired ones.
    DailyCheck,
    /// The owner of sender `i` reconnects its expired session.
    Reconnect(usize),
}

/// Seeded crashes whose plan is set once the clock it reads exists.
#[derive(Default)]
struct LateCrashes(OnceLock<SeededCrashes>);

impl CrashPoints for LateCrashes {
    fn crash_here(&self, point: CrashPoint) -> bool {
        self.0.get().is_some_and(|plan| plan.crash_here(point))
    }
}

/// One polled run.
struct Run {
    h: Harness,
    scenario: Scenario,
    accounts: Vec<AccountId>,
    agenda: BTreeSet<(DateTime<Utc>, Chore)>,
    last_poll: DateTime<Utc>,
    end: DateTime<Utc>,
    polled_new: u64,
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

impl Run {
    async fn start(seed: u64) -> Self {
        let size = ScenarioSize {
            seed,
            days: DAYS,
            leads: LEADS,
            accounts: ACCOUNTS,
        };
        let scenario = Scenario::generate(size, default_start());
        let start = scenario.start;
        let end = start + Duration::days(i64::from(DAYS));
        let config = SandboxConfig {
            fault_rate: FAULTS,
            faults: FaultModel::default(),
            ..SandboxConfig::seeded(seed)
        };
        let crashes = Arc::new(LateCrashes::default());
        let h = Harness::with_world(config, start, StoreKind::Sqlite, Some(crashes.clone())).await;
        // The plan reads the harness's clock, which exists only now.
        let plan = SeededCrashes::new(seed, CRASHES, start, end, h.clock.clone());
        assert!(crashes.0.set(plan).is_ok(), "the plan is set once");
        let mut run = Run {
            h,
            scenario,
            accounts: Vec::new(),
            agenda: BTreeSet::new(),
            last_poll: start,
            end,
            polled_new: 0,
        };
        run.set_up().await;
        run
    }

    async fn set_up(&mut self) {
        for plan in self.scenario.senders.clone() {
            let account = self.h.connect(&plan.provider_id, settings(&plan)).await;
            self.accounts.push(account);
        }
        let ws = self.h.workspace.clone();
        for (mailbox, address) in &self.scenario.mailboxes {
            self.h
                .engine
                .register_mailbox(&ws, mailbox, address)
                .await
                .expect("mailbox");
        }
        for plan in &self.scenario.campaigns {
            self.h
                .engine
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
                .await
                .expect("campaign");
        }
        for lead in &self.scenario.leads {
            self.h.world.add_lead(
                lead.id.clone(),
                plera_adapters::sandbox::SandboxLead {
                    email: lead.profile.email.clone(),
                    first_degree_with: lead
                        .connected_with
                        .iter()
                        .map(|i| self.accounts[*i].clone())
                        .collect(),
                },
            );
        }
        for (i, at) in self.scenario.waves.iter().enumerate() {
            self.agenda.insert((*at, Chore::Enroll(i)));
        }
        let start = self.scenario.start;
        self.agenda.insert((start + POLL_EVERY, Chore::Poll));
        let mut day = start + Duration::days(1);
        while day < self.end {
            self.agenda.insert((day, Chore::DailyCheck));
            day += Duration::days(1);
        }
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

    /// Runs to the end; an engine error other than an injected crash ends the run with it.
    async fn run(&mut self) -> Result<(), String> {
        let mut last = self.h.now();
        let mut rounds_here = 0;
        loop {
            let now = self.h.now();
            if now == last {
                rounds_here += 1;
                if rounds_here > 10_000 {
                    return Err(format!("no progress at {now}"));
                }
            } else {
                (last, rounds_here) = (now, 0);
            }
            self.chores(now).await?;
            for event in self.h.world.take_notifications(now) {
                self.ingest(event).await?;
            }
            match self.h.engine.tick().await {
                Ok(_) => {}
                Err(EngineError::Crashed) => {
                    self.h.restart().await;
                    continue;
                }
                Err(e) => return Err(format!("tick at {now}: {e}")),
            }
            let next = [
                self.h.engine.next_due().await.map_err(|e| e.to_string())?,
                self.h.world.next_notification_at(),
                self.agenda.first().map(|(at, _)| *at),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t < self.end => self.h.clock.advance_to(t.max(now)),
                _ => break,
            }
        }
        self.h.clock.advance_to(self.end);
        Ok(())
    }

    async fn chores(&mut self, now: DateTime<Utc>) -> Result<(), String> {
        while let Some(&(at, chore)) = self.agenda.first() {
            if at > now {
                break;
            }
            self.agenda.remove(&(at, chore));
            match chore {
                Chore::Enroll(wave) => self.enroll(wave).await?,
                Chore::Poll => {
                    self.poll(now).await?;
                    self.agenda.insert((now + POLL_EVERY, Chore::Poll));
                }
                Chore::DailyCheck => self.daily_check(now).await?,
                Chore::Reconnect(i) => self.reconnect(i).await?,
            }
        }
        Ok(())
    }

    async fn enroll(&mut self, wave: usize) -> Result<(), String> {
        let ws = self.h.workspace.clone();
        for (c, campaign) in self.scenario.campaigns.iter().enumerate() {
            let specs: Vec<LeadSpec> = self
                .scenario
                .leads
                .iter()
                .filter(|l| l.wave == wave && l.campaign == c)
                .map(|l| self.spec(l))
                .collect();
            if !specs.is_empty() {
                self.h
                    .engine
                    .enroll_many(&ws, &campaign.id, specs, EnrollOptions::default())
                    .await
                    .map_err(|e| format!("enroll: {e}"))?;
            }
        }
        Ok(())
    }

    /// Feeds the engine everything the listings show since the last poll.
    async fn poll(&mut self, now: DateTime<Utc>) -> Result<(), String> {
        let since = self.last_poll;
        let mut found = Vec::new();
        for account in &self.accounts {
            found.extend(
                self.h
                    .world
                    .poll(account, since)
                    .map_err(|e| e.to_string())?,
            );
        }
        for (mailbox, _) in &self.scenario.mailboxes {
            found.extend(self.h.world.poll_mailbox(mailbox, since));
        }
        self.last_poll = now;
        // One page, as `webhook::Poller` feeds a listing: its replies and acceptances share
        // commits, and each is answered as one call would be.
        let ws = self.h.workspace.clone();
        for outcome in self.h.engine.ingest_all(&ws, found).await {
            let outcome = outcome.map_err(|e| format!("polled ingest: {e}"))?;
            if outcome == plera_actors::IngestOutcome::Recorded {
                self.polled_new += 1;
            }
        }
        Ok(())
    }

    async fn ingest(&mut self, event: InboundEvent) -> Result<(), String> {
        let expired = match &event {
            InboundEvent::AccountStatus {
                account,
                status: AccountStatusSignal::CredentialsExpired,
                ..
            } => Some(account.clone()),
            _ => None,
        };
        let ws = self.h.workspace.clone();
        self.h
            .engine
            .ingest(&ws, event)
            .await
            .map_err(|e| format!("ingest: {e}"))?;
        if let Some(account) = expired {
            self.schedule_reconnect(&account);
        }
        Ok(())
    }

    /// The owner reconnects within the hour.
    fn schedule_reconnect(&mut self, account: &AccountId) {
        let Some(i) = self.accounts.iter().position(|a| a == account) else {
            return;
        };
        if !self.agenda.iter().any(|(_, c)| *c == Chore::Reconnect(i)) {
            let at = self.h.now() + Duration::minutes(45);
            self.agenda.insert((at, Chore::Reconnect(i)));
        }
    }

    async fn reconnect(&mut self, i: usize) -> Result<(), String> {
        let ws = self.h.workspace.clone();
        let account = self.accounts[i].clone();
        let plan = self.scenario.senders[i].clone();
        let link = self
            .h
            .engine
            .start_connection(&ws, &OwnerId::new("owner"), Some(&account))
            .await
            .map_err(|e| format!("reconnect link: {e}"))?;
        self.h
            .world
            .reconnect(&account)
            .map_err(|e| e.to_string())?;
        match self
            .h
            .engine
            .complete_connection(
                &link.state,
                &ProviderAccountId::new(plan.provider_id.clone()),
                settings(&plan),
            )
            .await
        {
            // Refused when the engine had not seen the session expire: nothing to reconnect.
            Ok(_) | Err(EngineError::Sender(_)) => Ok(()),
            Err(e) => Err(format!("reconnect: {e}")),
        }
    }

    async fn daily_check(&mut self, now: DateTime<Utc>) -> Result<(), String> {
        let ws = self.h.workspace.clone();
        for account in self.accounts.clone() {
            let view = self
                .h
                .engine
                .sender_status(&ws, &account)
                .await
                .map_err(|e| format!("status: {e}"))?;
            match view.status {
                SenderStatus::Restricted => {
                    let since = view.account_state.pause().map(|p| (p.reason, p.since));
                    if let Some((PauseReason::Restricted, since)) = since {
                        if since + RESTRICTION <= now {
                            self.h
                                .engine
                                .resume_sender(&ws, &account)
                                .await
                                .map_err(|e| format!("resume: {e}"))?;
                        }
                    }
                }
                // The engine found out from a refused send: the owner sees it in the app.
                SenderStatus::NeedsReconnect => self.schedule_reconnect(&account),
                _ => {}
            }
        }
        Ok(())
    }
}

/// A lead's answers and acceptances as the provider's listings show them at the end.
struct Truth {
    /// Provider message id → (lead, when it came in, whether it is a real answer).
    messages: BTreeMap<String, (String, DateTime<Utc>, bool)>,
    /// (account, lead) → when the lead accepted.
    accepted: BTreeMap<(String, String), DateTime<Utc>>,
}

fn truth(run: &Run) -> Truth {
    let since = run.scenario.start - Duration::days(1);
    let mut events = Vec::new();
    for account in &run.accounts {
        events.extend(run.h.world.poll(account, since).expect("known account"));
    }
    for (mailbox, _) in &run.scenario.mailboxes {
        events.extend(run.h.world.poll_mailbox(mailbox, since));
    }
    let mut truth = Truth {
        messages: BTreeMap::new(),
        accepted: BTreeMap::new(),
    };
    for e in events {
        match e {
            InboundEvent::MessageReceived {
                lead,
                message_id,
                text,
                at,
                ..
            } => {
                let real = matches!(
                    plera_domain::out_of_office::classify_reply(&text, at),
                    plera_domain::out_of_office::ReplyKind::Reply
                );
                truth
                    .messages
                    .insert(message_id.to_string(), (lead.to_string(), at, real));
            }
            InboundEvent::InviteAccepted { account, lead, at } => {
                truth
                    .accepted
                    .insert((account.to_string(), lead.to_string()), at);
            }
            InboundEvent::AccountStatus { .. } => {}
        }
    }
    truth
}

/// What polling must buy: every answer and acceptance that came in a polling period before the
/// end is in the log exactly once, and no action reached a lead later than a polling period
/// (plus the minute a step takes) after the lead's real answer.
fn liveness_violations(run: &Run, events: &[StoredEvent]) -> Vec<String> {
    let truth = truth(run);
    let settled = run.end - POLL_EVERY - Duration::minutes(1);
    let mut out = Vec::new();
    let mut recorded: BTreeMap<String, u32> = BTreeMap::new();
    let mut accepted: BTreeSet<String> = BTreeSet::new();
    let mut account_of: BTreeMap<String, String> = BTreeMap::new();
    for e in events {
        match e.event_type.as_str() {
            "ReplyReceived" | "OutOfOfficeReceived" | "InboundMessageReceived" => {
                if let Some(id) = e.payload.get("message_id").and_then(|v| v.as_str()) {
                    *recorded.entry(id.to_string()).or_default() += 1;
                }
            }
            "InviteAccepted" => {
                accepted.insert(e.aggregate_id.clone());
            }
            "SequenceStarted" => {
                if let Some(a) = e.payload.get("account_id").and_then(|v| v.as_str()) {
                    account_of.insert(e.aggregate_id.clone(), a.to_string());
                }
            }
            _ => {}
        }
    }
    for (id, (lead, at, _)) in &truth.messages {
        if *at <= settled && recorded.get(id).copied().unwrap_or(0) != 1 {
            out.push(format!(
                "message {id} of {lead} at {at} recorded {} times",
                recorded.get(id).copied().unwrap_or(0)
            ));
        }
    }
    // Every sequence whose sender's invite was accepted knows it.
    for (sequence, account) in &account_of {
        let lead = sequence.rsplit('/').next().unwrap_or_default().to_string();
        if let Some(at) = truth.accepted.get(&(account.clone(), lead.clone())) {
            if *at <= settled && !accepted.contains(sequence) {
                out.push(format!(
                    "{lead} accepted {account}'s invite at {at}; {sequence} never learnt it"
                ));
            }
        }
    }
    let mut first_answer: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for (lead, at, real) in truth.messages.values() {
        if *real {
            let t = first_answer.entry(lead.as_str()).or_insert(*at);
            *t = (*t).min(*at);
        }
    }
    for entry in run.h.ledger() {
        if let Some(answered) = first_answer.get(entry.lead_id.as_str()) {
            if entry.at > *answered + POLL_EVERY + Duration::minutes(1) {
                out.push(format!(
                    "{} to {} at {} after the answer at {answered}",
                    entry.action, entry.lead_id, entry.at
                ));
            }
        }
    }
    out
}

/// Runs seed `seed` with polling and checks it; (recorded thanks to polling, violations).
async fn polled_seed(seed: u64) -> (u64, Vec<String>) {
    let mut run = Run::start(seed).await;
    if let Err(e) = run.run().await {
        let violations = vec![format!("the run failed: {e}")];
        run.h.finish().await;
        return (0, violations);
    }
    let events = run.h.events().await;
    let ledger = run.h.ledger();
    let mut violations: Vec<String> = audit_log(run.h.log.as_ref(), Some(&ledger))
        .await
        .expect("audit reads the log")
        .violations
        .iter()
        .map(ToString::to_string)
        .collect();
    violations.extend(gap_violations(&events));
    violations.extend(sent_vs_ledger(&events, &ledger));
    violations.extend(liveness_violations(&run, &events));
    if run.h.restarts != CRASHES as usize {
        violations.push(format!(
            "{} restarts, {CRASHES} crashes planned",
            run.h.restarts
        ));
    }
    let polled = run.polled_new;
    run.h.finish().await;
    (polled, violations)
}

/// The seeds named by `PLERA_SEEDS` (`N` for 1..=N, `A..B` or `A..=B`), else `SEEDS`.
fn seeds_from_env() -> RangeInclusive<u64> {
    let Ok(text) = std::env::var("PLERA_SEEDS") else {
        return SEEDS;
    };
    let text = text.trim();
    let parsed = if let Some((a, b)) = text.split_once("..=") {
        a.parse().ok().zip(b.parse().ok())
    } else if let Some((a, b)) = text.split_once("..") {
        a.parse()
            .ok()
            .zip(b.parse::<u64>().ok().map(|b| b.saturating_sub(1)))
    } else {
        text.parse().ok().map(|n| (1, n))
    };
    let (a, b) = parsed.unwrap_or_else(|| panic!("PLERA_SEEDS={text}: expected N, A..B or A..=B"));
    a..=b
}

fn report(seed: u64, violations: &[String]) -> String {
    let mut text = format!(
        "seed {seed}: {} violation(s), replay with:\n  PLERA_SEED={seed} cargo test -p plera-tests \
         --test reliability_polling one_polled_seed -- --nocapture\n",
        violations.len()
    );
    for v in violations.iter().take(20) {
        text.push_str(&format!("    {v}\n"));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_seeds() {
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut polled = 0;
    let seeds = seeds_from_env();
    for seed in seeds.clone() {
        let (found, violations) = polled_seed(seed).await;
        polled += found;
        if !violations.is_empty() {
            let text = report(seed, &violations);
            eprintln!("{text}");
            failures.push(text);
        }
    }
    eprintln!(
        "{} polled seeds in {:.1?}: {polled} events recorded only thanks to polling",
        seeds.count(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(polled > 0, "polling never found what notifications lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_polled_seed() {
    let seed = std::env::var("PLERA_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1);
    let (polled, violations) = polled_seed(seed).await;
    eprintln!("seed {seed}: {polled} events recorded only thanks to polling");
    assert!(violations.is_empty(), "{}", report(seed, &violations));
}
