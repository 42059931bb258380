//! The tick: everything due now, through the step protocol, with two group commits.

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use plera_domain::ids::{AccountId, LeadId, SequenceId, WorkspaceId};
use plera_domain::lead::{
    next_step, LeadSequence, LeadSequenceCommand, NextStep, SkipReason, StopReason,
};
use plera_domain::ports::{
    Disposition, EmailRequest, GatewayError, GatewayErrorKind, InviteRequest, MessageRequest,
    StepKey,
};
use plera_domain::values::Action;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::book::Book;
use super::render::{render_step, Rendered};
use super::schedule_index::DueKey;
use crate::engine::EngineError;
use crate::leads::LeadProfile;
use crate::sender::{SenderCard, SenderMsg, SenderReply, SlotCandidate, StepReport};
use crate::store::{NewEvent, StoreError, Tracked};

/// Attempts of one step that failed transiently before the step is given up for good.
pub const MAX_ATTEMPTS: u32 = 5;

/// Places in the step protocol where a crash can be injected (fault tests and the simulator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrashPoint {
    /// `StepStarted` is committed; no gateway call yet.
    AfterStepStarted,
    /// The gateway calls returned; their outcomes are not recorded.
    AfterGatewayCall,
}

/// Decides whether the engine "crashes" at a point (the simulator draws it from its seed).
pub trait CrashPoints: Send + Sync {
    /// True to crash here: the tick stops at once and the engine must be rebuilt from the log.
    fn crash_here(&self, point: CrashPoint) -> bool;
}

/// Never crashes.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCrashes;

impl CrashPoints for NoCrashes {
    fn crash_here(&self, _point: CrashPoint) -> bool {
        false
    }
}

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Steps started.
    pub started: usize,
    /// Events appended.
    pub events: usize,
    /// When anything is due next, after this tick (saves the caller a round trip).
    pub next_due: Option<DateTime<Utc>>,
}

/// A step that got its `StepStarted` and now makes its call.
struct Started {
    id: SequenceId,
    step: u32,
    action: Action,
    account: Option<AccountId>,
    card: Option<SenderCard>,
    rendered: Rendered,
    email_to: Option<String>,
}

enum CallResult {
    Invite(Result<Option<f64>, GatewayError>),
    Message(Result<(), GatewayError>),
    Email(Result<(), GatewayError>),
}

/// Events staged during a tick, committed together.
#[derive(Default)]
struct Batch {
    records: Vec<NewEvent>,
    staged: BTreeMap<SequenceId, Tracked<LeadSequence>>,
    finished: BTreeSet<SequenceId>,
    /// Senders that granted slots in this batch, with the stored sequence they granted on.
    granted_on: BTreeMap<AccountId, u64>,
    /// Lead profiles read ahead for the steps this batch may start.
    profiles: Profiles,
}

impl Book {
    fn current(&self, batch: &Batch, id: &SequenceId) -> Option<Tracked<LeadSequence>> {
        batch
            .staged
            .get(id)
            .cloned()
            .or_else(|| self.sequences.get(id).cloned())
    }

    async fn stage(
        &self,
        batch: &mut Batch,
        id: &SequenceId,
        command: LeadSequenceCommand,
    ) -> Result<bool, EngineError> {
        let Some(tracked) = self.current(batch, id) else {
            return Ok(false);
        };
        let was_active = tracked.state.is_active();
        match tracked.decide(id.as_str(), command).await {
            Ok(decision) => {
                if decision.events.is_empty() {
                    return Ok(false);
                }
                if was_active && !decision.next.state.is_active() {
                    batch.finished.insert(id.clone());
                }
                batch.records.extend(decision.records);
                batch.staged.insert(id.clone(), decision.next);
                Ok(true)
            }
            Err(e) => {
                tracing::debug!(sequence = %id, error = %e, "step command refused");
                Ok(false)
            }
        }
    }

    async fn commit(&mut self, batch: Batch, now: DateTime<Utc>) -> Result<usize, EngineError> {
        if batch.records.is_empty() {
            return Ok(0);
        }
        let n = batch.records.len();
        let conditions = self.conditions(batch.staged.keys(), &batch.granted_on);
        if let Err(e) = self.log.append_if(batch.records, &conditions).await {
            for id in batch.staged.keys() {
                self.due
                    .set(DueKey::Lead(id.clone()), Book::store_retry(now));
            }
            return Err(EngineError::Store(e));
        }
        for (id, next) in batch.staged {
            self.sequences.insert(id.clone(), next);
            self.due.set(DueKey::Lead(id), now);
        }
        for id in batch.finished {
            self.note_finished(&id);
        }
        Ok(n)
    }

    /// Runs everything due at or before `now`. When the tick fails (a store failure), everything
    /// it took from the due index is put back a minute later, so no lead or sender is forgotten.
    pub async fn tick(&mut self, now: DateTime<Utc>) -> Result<TickReport, EngineError> {
        if self.has_left() {
            // Shutting down: a tick still queued must not take leases back.
            return Ok(TickReport::default());
        }
        if self.clustered() {
            self.sync(now).await?;
            self.maintain(now).await?;
        }
        let mut due = self.due.take_due(now);
        // Work of senders another process runs is theirs: adopting a sender schedules its own.
        due.retain(|key| self.owns_key(key));
        let result = self.tick_due(due.clone(), now).await;
        if let Err(e) = &result {
            if *e != EngineError::Crashed {
                for key in due {
                    self.due.set_earliest(key, Book::store_retry(now));
                }
            }
        }
        match result {
            // Another process wrote to one of our leads first (a reply, say), or a lease moved:
            // read the log, look at our leases now, and decide again at the next tick.
            Err(EngineError::Store(StoreError::Conflict { .. } | StoreError::LeaseLost { .. }))
                if self.clustered() =>
            {
                self.sync(now).await?;
                if let Some(c) = self.cluster.as_mut() {
                    c.next_renewal = Some(now);
                }
                self.maintain(now).await?;
                Ok(TickReport {
                    next_due: self.next_due(),
                    ..TickReport::default()
                })
            }
            other => other,
        }
    }

    async fn tick_due(
        &mut self,
        due: Vec<DueKey>,
        now: DateTime<Utc>,
    ) -> Result<TickReport, EngineError> {
        let mut report = TickReport::default();
        let mut batch = Batch::default();
        let mut offers: BTreeSet<AccountId> = BTreeSet::new();
        let mut started: Vec<Started> = Vec::new();
        let mut reconcile: Vec<(SequenceId, u32, Action)> = Vec::new();

        batch.profiles = self
            .prefetch_profiles(&self.email_steps_due(&due, now))
            .await;
        for key in due {
            match key {
                DueKey::Sender(a) => {
                    offers.insert(a);
                }
                DueKey::Lead(id) => {
                    self.advance(
                        &id,
                        now,
                        &mut batch,
                        &mut offers,
                        &mut started,
                        &mut reconcile,
                    )
                    .await?;
                }
            }
        }

        let heads = self.prefetch_profiles(&self.heads_of_lines(&offers)).await;
        for (workspace, profiles) in heads {
            batch
                .profiles
                .entry(workspace)
                .or_default()
                .extend(profiles);
        }
        for account in offers {
            self.offer(&account, now, &mut batch, &mut started).await?;
        }

        let slots: Vec<(AccountId, Action)> = started
            .iter()
            .filter_map(|s| s.account.clone().map(|a| (a, s.action)))
            .collect();
        match self.commit(batch, now).await {
            Ok(n) => report.events += n,
            Err(e) => {
                for (account, action) in slots {
                    self.send_sender(&account, SenderMsg::Release { action, at: now })
                        .await;
                }
                return Err(e);
            }
        }
        report.started = started.len();
        if !started.is_empty() && self.crash.crash_here(CrashPoint::AfterStepStarted) {
            return Err(EngineError::Crashed);
        }

        let results = self.call_all(&started).await;
        let reconciled = self.reconcile_all(&reconcile).await;
        if !started.is_empty() && self.crash.crash_here(CrashPoint::AfterGatewayCall) {
            return Err(EngineError::Crashed);
        }

        let mut outcomes = Batch::default();
        let mut reports: Vec<(AccountId, StepReport)> = Vec::new();
        for (s, result) in started.iter().zip(results) {
            self.stage_outcome(&mut outcomes, s, result, now, &mut reports)
                .await?;
        }
        for ((id, step, action), found) in reconcile.iter().zip(reconciled) {
            self.stage_reconciled(&mut outcomes, id, *step, *action, found, now)
                .await?;
        }
        let touched: Vec<SequenceId> = outcomes.staged.keys().cloned().collect();
        match self.commit(outcomes, now).await {
            Ok(n) => report.events += n,
            Err(e) => {
                // The calls happened but their outcomes are not on record: reconcile them.
                for s in &started {
                    self.needs_unknown.insert(s.id.clone());
                }
                let _ = touched;
                return Err(e);
            }
        }
        for (account, r) in reports {
            self.send_sender(&account, SenderMsg::Report { report: r, at: now })
                .await;
            self.due.set_earliest(DueKey::Sender(account), now);
        }
        report.next_due = self.next_due();
        Ok(report)
    }

    /// Looks at one due lead: stages skips and completion, queues LinkedIn steps for their
    /// sender, prepares email steps, or schedules the next look.
    async fn advance(
        &mut self,
        id: &SequenceId,
        now: DateTime<Utc>,
        batch: &mut Batch,
        offers: &mut BTreeSet<AccountId>,
        started: &mut Vec<Started>,
        reconcile: &mut Vec<(SequenceId, u32, Action)>,
    ) -> Result<(), EngineError> {
        if self.needs_unknown.remove(id) {
            if let Some(p) = self.current(batch, id).and_then(|t| t.state.pending()) {
                self.stage(
                    batch,
                    id,
                    LeadSequenceCommand::RecordOutcomeUnknown {
                        step: p.step,
                        at: now,
                    },
                )
                .await?;
            }
        }
        // A few rounds: a skip can make the next step due at once.
        for _ in 0..8 {
            let Some(tracked) = self.current(batch, id) else {
                return Ok(());
            };
            let Some(enrollment) = tracked.state.enrollment().cloned() else {
                return Ok(());
            };
            let Some(play) = self.plays.get(&enrollment.campaign_id).cloned() else {
                return Ok(());
            };
            match next_step(&tracked.state, &play) {
                NextStep::Finished => {
                    self.forget_waiting(id);
                    return Ok(());
                }
                NextStep::Complete { .. } => {
                    self.stage(batch, id, LeadSequenceCommand::Complete { at: now })
                        .await?;
                    return Ok(());
                }
                NextStep::Skip { step, reason, at } => {
                    if at > now {
                        self.due.set(DueKey::Lead(id.clone()), at);
                        return Ok(());
                    }
                    let cmd = LeadSequenceCommand::SkipStep {
                        step,
                        reason,
                        at: now,
                    };
                    if !self.stage(batch, id, cmd).await? {
                        return Ok(());
                    }
                }
                NextStep::Wait { until } => {
                    if let Some(until) = until {
                        self.due.set(DueKey::Lead(id.clone()), until.max(now));
                    }
                    return Ok(());
                }
                NextStep::Reconcile { step, action } => {
                    reconcile.push((id.clone(), step, action));
                    return Ok(());
                }
                NextStep::Run {
                    step,
                    action,
                    not_before,
                } => {
                    if not_before > now {
                        self.due.set(DueKey::Lead(id.clone()), not_before);
                        return Ok(());
                    }
                    if action.is_linkedin() {
                        let account = enrollment.account_id.clone();
                        self.forget_waiting(id);
                        self.waiting
                            .entry(account.clone())
                            .or_default()
                            .entry(enrollment.campaign_id.clone())
                            .or_default()
                            .insert((not_before, id.clone()));
                        self.waiting_of.insert(
                            id.clone(),
                            (
                                account.clone(),
                                enrollment.campaign_id.clone(),
                                not_before,
                                action,
                            ),
                        );
                        let sender_later = self.due_of_sender(&account).is_some_and(|t| t > now);
                        if !self.parked.contains(&account) && !sender_later {
                            offers.insert(account);
                        }
                        return Ok(());
                    }
                    if let Err(e) = self.prepare_email(id, step, now, batch, started).await {
                        // One lead's trouble (its profile unreadable) must not stall the others.
                        tracing::warn!(sequence = %id, error = %e, "email step postponed");
                        self.due
                            .set(DueKey::Lead(id.clone()), Book::store_retry(now));
                    }
                    return Ok(());
                }
            }
        }
        self.due.set(DueKey::Lead(id.clone()), now);
        Ok(())
    }

    fn due_of_sender(&self, account: &AccountId) -> Option<DateTime<Utc>> {
        self.due.when(&DueKey::Sender(account.clone()))
    }

    async fn prepare_email(
        &mut self,
        id: &SequenceId,
        step: u32,
        now: DateTime<Utc>,
        batch: &mut Batch,
        started: &mut Vec<Started>,
    ) -> Result<(), EngineError> {
        let Some(tracked) = self.current(batch, id) else {
            return Ok(());
        };
        let Some(e) = tracked.state.enrollment().cloned() else {
            return Ok(());
        };
        let Some(play) = self.plays.get(&e.campaign_id).cloned() else {
            return Ok(());
        };
        let Some(play_step) = play.steps.get(step as usize) else {
            return Ok(());
        };
        let profile = self
            .profile_of(&batch.profiles, &e.workspace_id, &e.lead_id)
            .await?;
        let mailbox = e.mailbox_id.clone();
        let to = profile.email.clone();
        let skip = |reason| LeadSequenceCommand::SkipStep {
            step,
            reason,
            at: now,
        };
        let (Some(mailbox), Some(to)) = (mailbox, to) else {
            // Nothing to send with: pass the step over rather than start it.
            self.stage(batch, id, skip(SkipReason::EmailUnknown))
                .await?;
            return Ok(());
        };
        let rendered = match render_step(play_step, &profile, None) {
            Ok(r) => r,
            Err(err) => {
                tracing::warn!(sequence = %id, error = %err, "email could not be rendered");
                self.stage(batch, id, skip(SkipReason::RenderFailed))
                    .await?;
                return Ok(());
            }
        };
        let ok = self
            .stage(
                batch,
                id,
                LeadSequenceCommand::StartStep {
                    step,
                    action: Action::Email,
                    account_id: None,
                    mailbox_id: Some(mailbox.clone()),
                    at: now,
                },
            )
            .await?;
        if ok {
            let _ = self.mailbox_address(&e.workspace_id, &mailbox);
            started.push(Started {
                id: id.clone(),
                step,
                action: Action::Email,
                account: None,
                card: None,
                rendered,
                email_to: Some(to),
            });
        }
        Ok(())
    }

    /// Offers a sender's waiting leads (the head of each campaign's line, one per action) and
    /// starts the steps it grants.
    async fn offer(
        &mut self,
        account: &AccountId,
        now: DateTime<Utc>,
        batch: &mut Batch,
        started: &mut Vec<Started>,
    ) -> Result<(), EngineError> {
        let mut candidates = Vec::new();
        if let Some(per_campaign) = self.waiting.get(account) {
            for (campaign, line) in per_campaign {
                let mut seen_actions = BTreeSet::new();
                for (due, id) in line {
                    let Some((_, _, _, action)) = self.waiting_of.get(id) else {
                        continue;
                    };
                    if seen_actions.insert(format!("{action}")) {
                        candidates.push(SlotCandidate {
                            sequence: id.clone(),
                            campaign: campaign.clone(),
                            action: *action,
                            due: *due,
                        });
                    }
                    if seen_actions.len() == 2 {
                        break;
                    }
                }
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let answer = match self
            .ask_sender(account, SenderMsg::Offer { now, candidates })
            .await?
        {
            SenderReply::Slots(a) => a,
            _ => return Ok(()),
        };
        match answer.next_wake {
            Some(t) => {
                self.due.set(DueKey::Sender(account.clone()), t.max(now));
            }
            None if answer.granted.is_empty() => {
                self.parked.insert(account.clone());
            }
            None => {}
        }
        if answer.disconnected {
            let ids: Vec<SequenceId> = self
                .waiting
                .get(account)
                .map(|m| m.values().flatten().map(|(_, id)| id.clone()).collect())
                .unwrap_or_default();
            for id in ids {
                self.forget_waiting(&id);
                self.stage(
                    batch,
                    &id,
                    LeadSequenceCommand::Stop {
                        reason: StopReason::SenderDisconnected,
                        at: now,
                    },
                )
                .await?;
            }
            return Ok(());
        }
        if !answer.granted.is_empty() {
            batch.granted_on.insert(account.clone(), answer.version);
        }
        for grant in answer.granted {
            self.forget_waiting(&grant.sequence);
            let started = self
                .start_linkedin(
                    &grant.sequence,
                    grant.action,
                    answer.card.clone(),
                    now,
                    batch,
                    started,
                )
                .await;
            let started_ok = match started {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::warn!(sequence = %grant.sequence, error = %e, "step postponed");
                    self.due
                        .set(DueKey::Lead(grant.sequence.clone()), Book::store_retry(now));
                    false
                }
            };
            if !started_ok {
                self.send_sender(
                    account,
                    SenderMsg::Release {
                        action: grant.action,
                        at: grant.at,
                    },
                )
                .await;
            }
        }
        Ok(())
    }

    async fn start_linkedin(
        &mut self,
        id: &SequenceId,
        action: Action,
        card: Option<SenderCard>,
        now: DateTime<Utc>,
        batch: &mut Batch,
        started: &mut Vec<Started>,
    ) -> Result<bool, EngineError> {
        let Some(tracked) = self.current(batch, id) else {
            return Ok(false);
        };
        let Some(e) = tracked.state.enrollment().cloned() else {
            return Ok(false);
        };
        let Some(play) = self.plays.get(&e.campaign_id).cloned() else {
            return Ok(false);
        };
        // The sequence may have moved on since it queued (a reply, an acceptance): only start
        // what is still the next step.
        let NextStep::Run {
            step, action: a, ..
        } = next_step(&tracked.state, &play)
        else {
            self.due.set(DueKey::Lead(id.clone()), now);
            return Ok(false);
        };
        if a != action {
            self.due.set(DueKey::Lead(id.clone()), now);
            return Ok(false);
        }
        let Some(play_step) = play.steps.get(step as usize) else {
            return Ok(false);
        };
        let profile = self
            .profile_of(&batch.profiles, &e.workspace_id, &e.lead_id)
            .await?;
        let rendered = match render_step(play_step, &profile, card.as_ref().map(|c| c.tier)) {
            Ok(r) => r,
            Err(err) => {
                tracing::warn!(sequence = %id, error = %err, "step could not be rendered");
                self.stage(
                    batch,
                    id,
                    LeadSequenceCommand::SkipStep {
                        step,
                        reason: SkipReason::RenderFailed,
                        at: now,
                    },
                )
                .await?;
                return Ok(false);
            }
        };
        let ok = self
            .stage(
                batch,
                id,
                LeadSequenceCommand::StartStep {
                    step,
                    action,
                    account_id: Some(e.account_id.clone()),
                    mailbox_id: None,
                    at: now,
                },
            )
            .await?;
        if ok {
            started.push(Started {
                id: id.clone(),
                step,
                action,
                account: Some(e.account_id.clone()),
                card,
                rendered,
                email_to: None,
            });
        }
        Ok(ok)
    }

    async fn call_all(&self, started: &[Started]) -> Vec<CallResult> {
        let timeout = self.call_timeout;
        let calls = started.iter().map(|s| {
            let linkedin = Arc::clone(&self.linkedin);
            let email = Arc::clone(&self.email);
            let key = StepKey {
                sequence: s.id.clone(),
                step: s.step,
            };
            let lead = self
                .sequences
                .get(&s.id)
                .and_then(|t| t.state.enrollment().map(|e| e.lead_id.clone()));
            let mailbox = self
                .sequences
                .get(&s.id)
                .and_then(|t| t.state.mailbox_id().cloned());
            async move {
                let lost = || GatewayError::new(GatewayErrorKind::Timeout, "no answer in time");
                let lead = lead.unwrap_or_else(|| plera_domain::ids::LeadId::new(""));
                match s.action {
                    Action::Invite => {
                        let Some(card) = s.card.clone() else {
                            return CallResult::Invite(Err(GatewayError::new(
                                GatewayErrorKind::Malformed,
                                "no sender card",
                            )));
                        };
                        let req = InviteRequest {
                            key,
                            account: card.account,
                            provider_account: card.provider_account,
                            lead,
                            note: s.rendered.body.clone(),
                        };
                        let r = tokio::time::timeout(timeout, linkedin.send_invite(req))
                            .await
                            .unwrap_or_else(|_| Err(lost()));
                        CallResult::Invite(r.map(|receipt| receipt.usage))
                    }
                    Action::Message => {
                        let Some(card) = s.card.clone() else {
                            return CallResult::Message(Err(GatewayError::new(
                                GatewayErrorKind::Malformed,
                                "no sender card",
                            )));
                        };
                        let req = MessageRequest {
                            key,
                            account: card.account,
                            provider_account: card.provider_account,
                            lead,
                            text: s.rendered.body.clone().unwrap_or_default(),
                        };
                        let r = tokio::time::timeout(timeout, linkedin.send_message(req))
                            .await
                            .unwrap_or_else(|_| Err(lost()));
                        CallResult::Message(r.map(|_| ()))
                    }
                    Action::Email => {
                        let req = EmailRequest {
                            key,
                            mailbox: mailbox.unwrap_or_else(|| "".into()),
                            to: s.email_to.clone().unwrap_or_default(),
                            subject: s.rendered.subject.clone().unwrap_or_default(),
                            body: s.rendered.body.clone().unwrap_or_default(),
                        };
                        let r = tokio::time::timeout(timeout, email.send_email(req))
                            .await
                            .unwrap_or_else(|_| Err(lost()));
                        CallResult::Email(r.map(|_| ()))
                    }
                }
            }
        });
        join_all(calls).await
    }

    async fn stage_outcome(
        &self,
        batch: &mut Batch,
        s: &Started,
        result: CallResult,
        now: DateTime<Utc>,
        reports: &mut Vec<(AccountId, StepReport)>,
    ) -> Result<(), EngineError> {
        let (error, usage) = match result {
            CallResult::Invite(Ok(usage)) => (None, usage),
            CallResult::Message(Ok(())) | CallResult::Email(Ok(())) => (None, None),
            CallResult::Invite(Err(e))
            | CallResult::Message(Err(e))
            | CallResult::Email(Err(e)) => (Some(e), None),
        };
        let report = match &error {
            None => StepReport::Done { usage },
            Some(e) if e.kind == GatewayErrorKind::Timeout => StepReport::Unknown,
            Some(e) => StepReport::Failed(e.kind),
        };
        if let Some(account) = &s.account {
            reports.push((account.clone(), report));
        }
        let done = match &error {
            None => true,
            Some(e) => e.kind.disposition() == Disposition::AlreadyDone,
        };
        if done {
            self.stage(batch, &s.id, self.sent_command(s, now)).await?;
            return Ok(());
        }
        let Some(e) = error else { return Ok(()) };
        let reason = e.kind.as_str().to_string();
        let cmd = match e.kind.disposition() {
            Disposition::Unknown => LeadSequenceCommand::RecordOutcomeUnknown {
                step: s.step,
                at: now,
            },
            // The account's trouble, not the lead's: retry as often as the pauses allow.
            Disposition::PauseAccount(_) => LeadSequenceCommand::RecordStepFailed {
                step: s.step,
                retryable: true,
                reason,
                at: now,
            },
            Disposition::Retry => {
                // Each attempt spends a slot of the sender's quota: give up after a few.
                let attempts = self
                    .current(batch, &s.id)
                    .and_then(|t| t.state.retry())
                    .map_or(0, |r| r.attempts);
                LeadSequenceCommand::RecordStepFailed {
                    step: s.step,
                    retryable: attempts + 1 < MAX_ATTEMPTS,
                    reason,
                    at: now,
                }
            }
            Disposition::SkipStep(skip) => {
                if skip == SkipReason::AlreadyConnected {
                    self.stage(
                        batch,
                        &s.id,
                        LeadSequenceCommand::RecordInviteAccepted { at: now },
                    )
                    .await?;
                }
                LeadSequenceCommand::RecordStepFailed {
                    step: s.step,
                    retryable: false,
                    reason,
                    at: now,
                }
            }
            Disposition::Fail | Disposition::AlreadyDone => LeadSequenceCommand::RecordStepFailed {
                step: s.step,
                retryable: false,
                reason,
                at: now,
            },
        };
        self.stage(batch, &s.id, cmd).await?;
        Ok(())
    }

    fn sent_command(&self, s: &Started, now: DateTime<Utc>) -> LeadSequenceCommand {
        let account = s.account.clone().unwrap_or_else(|| AccountId::new(""));
        match s.action {
            Action::Invite => LeadSequenceCommand::RecordInviteSent {
                step: s.step,
                account_id: account,
                note: s.rendered.body.clone(),
                at: now,
            },
            Action::Message => LeadSequenceCommand::RecordMessageSent {
                step: s.step,
                account_id: account,
                text: s.rendered.body.clone().unwrap_or_default(),
                at: now,
            },
            Action::Email => LeadSequenceCommand::RecordEmailSent {
                step: s.step,
                mailbox: self
                    .sequences
                    .get(&s.id)
                    .and_then(|t| t.state.mailbox_id().cloned())
                    .unwrap_or_else(|| "".into()),
                subject: s.rendered.subject.clone().unwrap_or_default(),
                body: s.rendered.body.clone().unwrap_or_default(),
                at: now,
            },
        }
    }

    async fn reconcile_all(
        &self,
        items: &[(SequenceId, u32, Action)],
    ) -> Vec<Result<bool, GatewayError>> {
        let calls = items.iter().map(|(id, step, action)| {
            let linkedin = Arc::clone(&self.linkedin);
            let email = Arc::clone(&self.email);
            let key = StepKey {
                sequence: id.clone(),
                step: *step,
            };
            let action = *action;
            async move {
                match action {
                    Action::Invite => linkedin.find_invite(&key).await.map(|r| r.is_some()),
                    Action::Message => linkedin.find_message(&key).await.map(|r| r.is_some()),
                    Action::Email => email.find_email(&key).await.map(|r| r.is_some()),
                }
            }
        });
        join_all(calls).await
    }

    async fn stage_reconciled(
        &mut self,
        batch: &mut Batch,
        id: &SequenceId,
        step: u32,
        action: Action,
        found: Result<bool, GatewayError>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        match found {
            Ok(true) => {
                // The provider has it: record it as sent, with texts rendered again (they are a
                // pure function of the template and the profile).
                let Some(t) = self.current(batch, id) else {
                    return Ok(());
                };
                let Some(e) = t.state.enrollment().cloned() else {
                    return Ok(());
                };
                let play = self.plays.get(&e.campaign_id).cloned();
                let profile = self.profile(&e.workspace_id, &e.lead_id).await?;
                let rendered = play
                    .as_ref()
                    .and_then(|p| p.steps.get(step as usize))
                    .and_then(|s| render_step(s, &profile, None).ok())
                    .unwrap_or(Rendered {
                        body: None,
                        subject: None,
                    });
                let s = Started {
                    id: id.clone(),
                    step,
                    action,
                    account: action.is_linkedin().then(|| e.account_id.clone()),
                    card: None,
                    rendered,
                    email_to: None,
                };
                let cmd = self.sent_command(&s, now);
                self.stage(batch, id, cmd).await?;
            }
            Ok(false) => {
                self.stage(
                    batch,
                    id,
                    LeadSequenceCommand::RecordStepFailed {
                        step,
                        retryable: true,
                        reason: "not_received".into(),
                        at: now,
                    },
                )
                .await?;
            }
            Err(_) => {
                self.due
                    .set(DueKey::Lead(id.clone()), now + Duration::minutes(15));
            }
        }
        Ok(())
    }

    /// Asks a sender's actor; a dead actor is re-spawned from the log and asked again (the
    /// message is handed back by the mailbox only when it was never delivered).
    pub(crate) async fn ask_sender(
        &mut self,
        account: &AccountId,
        msg: SenderMsg,
    ) -> Result<SenderReply, EngineError> {
        let Some(addr) = self.registry.get(account) else {
            if self.clustered() && self.registry.knows(account) && !self.owns(account) {
                return self.serve_elsewhere(account, msg).await;
            }
            return Err(EngineError::not_found("sender", account.as_str()));
        };
        match addr.send(msg.clone()).await {
            Ok(reply) => reply,
            Err(_) => {
                let addr = self.respawn_sender(account, msg.at()).await?;
                addr.send(msg).await.map_err(|_| EngineError::SystemDown)?
            }
        }
    }

    async fn send_sender(&mut self, account: &AccountId, msg: SenderMsg) {
        if let Err(e) = self.ask_sender(account, msg).await {
            tracing::warn!(account = %account, error = %e, "sender did not take a report");
        }
    }
}

#[allow(dead_code)]
fn _assert_send(_: &HashMap<(), ()>) {}

/// Lead profiles read ahead for a tick, by workspace and lead.
type Profiles = HashMap<WorkspaceId, HashMap<LeadId, LeadProfile>>;

impl Book {
    /// Reads the profiles of `ids`' leads with one `LeadDirectory::get_many` per workspace, so
    /// that a tick does not read them one query per step. A lead without a profile gets the
    /// empty one (as [`Book::profile`] gives it). A failed read leaves its leads out: their
    /// steps then read one by one, as before, so one unreadable profile stalls no other lead.
    async fn prefetch_profiles(&self, ids: &[SequenceId]) -> Profiles {
        let mut wanted: BTreeMap<WorkspaceId, BTreeSet<LeadId>> = BTreeMap::new();
        for id in ids {
            if let Some(e) = self.sequences.get(id).and_then(|t| t.state.enrollment()) {
                wanted
                    .entry(e.workspace_id.clone())
                    .or_default()
                    .insert(e.lead_id.clone());
            }
        }
        let mut out = Profiles::new();
        for (workspace, leads) in wanted {
            let leads: Vec<LeadId> = leads.into_iter().collect();
            let Ok(mut found) = self.directory.get_many(&workspace, &leads).await else {
                continue;
            };
            let profiles = out.entry(workspace).or_default();
            for lead in leads {
                let profile = found.remove(&lead).unwrap_or_default();
                profiles.insert(lead, profile);
            }
        }
        out
    }

    /// A lead's profile from the tick's read-ahead, else from the directory.
    async fn profile_of(
        &self,
        profiles: &Profiles,
        workspace: &WorkspaceId,
        lead: &LeadId,
    ) -> Result<LeadProfile, EngineError> {
        match profiles.get(workspace).and_then(|p| p.get(lead)) {
            Some(profile) => Ok(profile.clone()),
            None => self.profile(workspace, lead).await,
        }
    }

    /// The due sequences whose next step is an email due now (a read-ahead hint: `advance`
    /// decides, and reads any profile the hint missed itself).
    fn email_steps_due(&self, due: &[DueKey], now: DateTime<Utc>) -> Vec<SequenceId> {
        due.iter()
            .filter_map(|key| match key {
                DueKey::Lead(id) => Some(id),
                DueKey::Sender(_) => None,
            })
            .filter(|id| {
                let Some(tracked) = self.sequences.get(*id) else {
                    return false;
                };
                let Some(play) = tracked
                    .state
                    .enrollment()
                    .and_then(|e| self.plays.get(&e.campaign_id))
                else {
                    return false;
                };
                matches!(
                    next_step(&tracked.state, play),
                    NextStep::Run { action, not_before, .. }
                        if !action.is_linkedin() && not_before <= now
                )
            })
            .cloned()
            .collect()
    }

    /// The sequences `offer` will put to `accounts`: the head of each campaign's line, one per
    /// action (a read-ahead hint, as above).
    fn heads_of_lines(&self, accounts: &BTreeSet<AccountId>) -> Vec<SequenceId> {
        let mut out = Vec::new();
        for per_campaign in accounts.iter().filter_map(|a| self.waiting.get(a)) {
            for line in per_campaign.values() {
                let mut seen = BTreeSet::new();
                for (_, id) in line {
                    let Some((_, _, _, action)) = self.waiting_of.get(id) else {
                        continue;
                    };
                    if seen.insert(format!("{action}")) {
                        out.push(id.clone());
                    }
                    if seen.len() == 2 {
                        break;
                    }
                }
            }
        }
        out
    }
}
