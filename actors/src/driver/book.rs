//! The driver's state: every sequence, campaign and workspace of this process, the indexes over
//! them, and the operations that are not the tick (load, enroll, campaigns, connections).

use chrono::{DateTime, Duration, Utc};
use plera_domain::campaign::{Campaign, CampaignCommand, CampaignEvent};
use plera_domain::conversation::{Conversation, ConversationCommand, ConversationEvent};
use plera_domain::ids::{AccountId, CampaignId, LeadId, MailboxId, SequenceId, WorkspaceId};
use plera_domain::lead::{
    LeadSequence, LeadSequenceCommand, LeadSequenceEvent, PendingState, SequenceStatus, StopReason,
};
use plera_domain::play::Play;
use plera_domain::ports::{EmailGateway, LinkedInGateway};
use plera_domain::quota::QuotaPolicy;
use plera_domain::values::{Action, ConnectionDegree};
use plera_domain::workspace::{Workspace, WorkspaceCommand, WorkspaceEvent};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::cluster::{ClusterConfig, Membership};
use super::schedule_index::{DueIndex, DueKey};
use super::staged::Staged;
use super::steps::CrashPoints;
use crate::engine::{EngineError, Registry};
use crate::leads::{LeadDirectory, LeadProfile};
use crate::sender::{SenderActor, SenderDesk};
use crate::store::{decode, EventLog, NewEvent, StoreError, Tracked};

const READ_BATCH: usize = 5_000;

/// One campaign's leads waiting for a sender, by due time.
pub(crate) type WaitingLine = BTreeSet<(DateTime<Utc>, SequenceId)>;

/// A lead to enroll.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadSpec {
    /// The lead's id (the embedding service's).
    pub lead_id: LeadId,
    /// Template variables and email.
    pub profile: LeadProfile,
    /// The lead's degree to the chosen sender.
    pub connection_degree: ConnectionDegree,
    /// The sender to use; by default the campaign's sender with the fewest active sequences.
    pub sender: Option<AccountId>,
}

/// How to enroll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnrollOptions {
    /// Enroll even a lead who replied or opted out before.
    pub force: bool,
}

/// Everything the driver holds.
pub struct Book {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) linkedin: Arc<dyn LinkedInGateway>,
    pub(crate) email: Arc<dyn EmailGateway>,
    pub(crate) directory: Arc<dyn LeadDirectory>,
    pub(crate) registry: Registry,
    pub(crate) crash: Arc<dyn CrashPoints>,
    pub(crate) call_timeout: std::time::Duration,
    pub(crate) sender_policy: QuotaPolicy,
    pub(crate) seed: u64,
    pub(crate) workspaces: HashMap<WorkspaceId, Tracked<Workspace>>,
    pub(crate) state_owner: HashMap<String, WorkspaceId>,
    pub(crate) campaigns: HashMap<CampaignId, Tracked<Campaign>>,
    pub(crate) plays: HashMap<CampaignId, Arc<Play>>,
    pub(crate) sequences: HashMap<SequenceId, Tracked<LeadSequence>>,
    pub(crate) conversations: HashMap<String, Tracked<Conversation>>,
    pub(crate) by_lead: HashMap<(WorkspaceId, LeadId), Vec<SequenceId>>,
    pub(crate) active_per_sender: HashMap<(CampaignId, AccountId), usize>,
    pub(crate) due: DueIndex,
    /// Leads whose LinkedIn step is due, waiting for their sender: per sender, per campaign.
    pub(crate) waiting: HashMap<AccountId, BTreeMap<CampaignId, WaitingLine>>,
    pub(crate) waiting_of: HashMap<SequenceId, (AccountId, CampaignId, DateTime<Utc>, Action)>,
    /// Senders that only the user can unblock; their leads wait without a wake.
    pub(crate) parked: HashSet<AccountId>,
    /// Sequences whose step was in flight when its outcome could not be recorded.
    pub(crate) needs_unknown: BTreeSet<SequenceId>,
    /// With several engine processes on one database: which senders this one runs.
    pub(crate) cluster: Option<Membership>,
}

impl Book {
    /// Rebuilds every sequence, campaign and workspace from the log, and schedules them at `now`.
    /// Steps that were in flight when the previous process stopped become unknown outcomes, to be
    /// reconciled with the provider before anything else.
    #[allow(clippy::too_many_arguments)]
    pub async fn load(
        log: Arc<dyn EventLog>,
        linkedin: Arc<dyn LinkedInGateway>,
        email: Arc<dyn EmailGateway>,
        directory: Arc<dyn LeadDirectory>,
        registry: Registry,
        crash: Arc<dyn CrashPoints>,
        call_timeout: std::time::Duration,
        sender_policy: QuotaPolicy,
        seed: u64,
        cluster: Option<ClusterConfig>,
        now: DateTime<Utc>,
    ) -> Result<(Self, Vec<AccountId>), StoreError> {
        let mut book = Self {
            log,
            linkedin,
            email,
            directory,
            registry,
            crash,
            call_timeout,
            sender_policy,
            seed,
            workspaces: HashMap::new(),
            state_owner: HashMap::new(),
            campaigns: HashMap::new(),
            plays: HashMap::new(),
            sequences: HashMap::new(),
            conversations: HashMap::new(),
            by_lead: HashMap::new(),
            active_per_sender: HashMap::new(),
            due: DueIndex::default(),
            waiting: HashMap::new(),
            waiting_of: HashMap::new(),
            parked: HashSet::new(),
            needs_unknown: BTreeSet::new(),
            cluster: cluster.map(Membership::new),
        };
        let mut senders = BTreeSet::new();
        let mut position = 0;
        loop {
            let batch = book.log.read_after(position, READ_BATCH).await?;
            let Some(last) = batch.last() else { break };
            position = last.position;
            for stored in &batch {
                match stored.aggregate_type.as_str() {
                    t if t == <Workspace as cqrs_es::Aggregate>::TYPE => {
                        let event: WorkspaceEvent = decode(stored)?;
                        book.note_workspace_event(&stored.aggregate_id, &event);
                        book.workspaces
                            .entry(WorkspaceId::new(stored.aggregate_id.clone()))
                            .or_default()
                            .apply_stored(event, stored.sequence);
                    }
                    t if t == <Campaign as cqrs_es::Aggregate>::TYPE => {
                        let event: CampaignEvent = decode(stored)?;
                        let id = CampaignId::new(stored.aggregate_id.clone());
                        let tracked = book.campaigns.entry(id.clone()).or_default();
                        tracked.apply_stored(event, stored.sequence);
                        if let Some(play) = tracked.state.play() {
                            book.plays.insert(id, Arc::new(play.clone()));
                        }
                    }
                    t if t == <LeadSequence as cqrs_es::Aggregate>::TYPE => {
                        let event: LeadSequenceEvent = decode(stored)?;
                        let id = SequenceId::new(stored.aggregate_id.clone());
                        book.sequences
                            .entry(id)
                            .or_default()
                            .apply_stored(event, stored.sequence);
                    }
                    t if t == <Conversation as cqrs_es::Aggregate>::TYPE => {
                        let event: ConversationEvent = decode(stored)?;
                        book.conversations
                            .entry(stored.aggregate_id.clone())
                            .or_default()
                            .apply_stored(event, stored.sequence);
                    }
                    _ => {
                        senders.insert(AccountId::new(stored.aggregate_id.clone()));
                    }
                }
            }
        }
        let ids: Vec<SequenceId> = book.sequences.keys().cloned().collect();
        for id in ids {
            book.index_sequence(&id);
            let seq = &book.sequences[&id].state;
            if seq
                .pending()
                .is_some_and(|p| p.state == PendingState::InFlight)
            {
                book.needs_unknown.insert(id.clone());
            }
            book.due.set(DueKey::Lead(id), now);
        }
        if let Some(c) = book.cluster.as_mut() {
            // Nothing is ours until a lease says so (`maintain`); the log is read up to here.
            c.cursor = position;
            book.needs_unknown.clear();
        }
        Ok((book, senders.into_iter().collect()))
    }

    pub(crate) fn note_workspace_event(&mut self, workspace: &str, event: &WorkspaceEvent) {
        if let WorkspaceEvent::ConnectionRequested { state_digest, .. } = event {
            self.state_owner
                .insert(state_digest.clone(), WorkspaceId::new(workspace));
        }
    }

    /// Adds a sequence to the per-lead and per-sender indexes.
    pub(crate) fn index_sequence(&mut self, id: &SequenceId) {
        let Some(e) = self.sequences[id].state.enrollment().cloned() else {
            return;
        };
        let list = self
            .by_lead
            .entry((e.workspace_id.clone(), e.lead_id.clone()))
            .or_default();
        if !list.contains(id) {
            list.push(id.clone());
        }
        if self.sequences[id].state.is_active() {
            *self
                .active_per_sender
                .entry((e.campaign_id, e.account_id))
                .or_default() += 1;
        }
    }

    /// Keeps the per-sender count of active sequences right when a sequence ends.
    pub(crate) fn note_finished(&mut self, id: &SequenceId) {
        if let Some(e) = self.sequences.get(id).and_then(|s| s.state.enrollment()) {
            if let Some(n) = self
                .active_per_sender
                .get_mut(&(e.campaign_id.clone(), e.account_id.clone()))
            {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// The earliest time anything is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        // With other processes, leases must be renewed in time whatever else is due.
        let renewal = self.cluster.as_ref().and_then(|c| c.next_renewal);
        [self.due.next_due(), renewal].into_iter().flatten().min()
    }

    /// A campaign of `workspace`, or `NotFound` (also for another workspace's campaign).
    pub(crate) fn campaign_in(
        &self,
        workspace: &WorkspaceId,
        campaign: &CampaignId,
    ) -> Result<&Campaign, EngineError> {
        self.campaigns
            .get(campaign)
            .map(|t| &t.state)
            .filter(|c| c.workspace_id() == Some(workspace))
            .ok_or_else(|| EngineError::not_found("campaign", campaign.as_str()))
    }

    /// Creates a campaign.
    pub async fn create_campaign(
        &mut self,
        command: CampaignCommand,
    ) -> Result<CampaignId, EngineError> {
        let CampaignCommand::Create {
            workspace_id,
            campaign_id,
            play,
            senders,
            mailbox_id,
            ..
        } = &command
        else {
            return Err(EngineError::InvalidInput("not a create command".into()));
        };
        play.validate()
            .map_err(|e| EngineError::Play(e.to_string()))?;
        for s in senders {
            if !self.registry.belongs_to(s, workspace_id) {
                return Err(EngineError::not_found("sender", s.as_str()));
            }
        }
        if let Some(m) = mailbox_id {
            let known = self
                .workspaces
                .get(workspace_id)
                .is_some_and(|w| w.state.mailbox(m).is_some());
            if !known {
                return Err(EngineError::not_found("mailbox", m.as_str()));
            }
        }
        let id = campaign_id.clone();
        let tracked = self.campaigns.get(&id).cloned().unwrap_or_default();
        let decision = tracked
            .decide(id.as_str(), command)
            .await
            .map_err(EngineError::Campaign)?;
        self.log.append(decision.records).await?;
        if let Some(play) = decision.next.state.play() {
            self.plays.insert(id.clone(), Arc::new(play.clone()));
        }
        self.campaigns.insert(id.clone(), decision.next);
        Ok(id)
    }

    /// Runs a command on a workspace aggregate and appends its events together with `extra`
    /// (another aggregate's events that must commit with it, or not at all).
    pub(crate) async fn workspace_command(
        &mut self,
        workspace: &WorkspaceId,
        command: WorkspaceCommand,
        extra: Vec<NewEvent>,
    ) -> Result<Vec<WorkspaceEvent>, EngineError> {
        let tracked = self.workspaces.get(workspace).cloned().unwrap_or_default();
        let decision = tracked
            .decide(workspace.as_str(), command)
            .await
            .map_err(EngineError::Workspace)?;
        let mut records = decision.records;
        records.extend(extra);
        self.log.append(records).await?;
        for e in &decision.events {
            self.note_workspace_event(workspace.as_str(), e);
        }
        self.workspaces.insert(workspace.clone(), decision.next);
        Ok(decision.events)
    }

    /// The address of a workspace's mailbox.
    pub(crate) fn mailbox_address(
        &self,
        workspace: &WorkspaceId,
        mailbox: &MailboxId,
    ) -> Option<String> {
        self.workspaces
            .get(workspace)
            .and_then(|w| w.state.mailbox(mailbox))
            .map(str::to_owned)
    }

    /// Enrolls leads into a campaign in one commit; every lead is checked first, so a refused
    /// lead refuses the whole batch and nothing is written.
    pub async fn enroll(
        &mut self,
        workspace: &WorkspaceId,
        campaign: &CampaignId,
        leads: Vec<LeadSpec>,
        options: EnrollOptions,
        now: DateTime<Utc>,
    ) -> Result<Vec<SequenceId>, EngineError> {
        let c = self.campaign_in(workspace, campaign)?.clone();
        let mut records = Vec::new();
        let mut staged = Vec::new();
        let mut batch_leads = HashSet::new();
        let mut load: HashMap<AccountId, usize> = c
            .senders()
            .iter()
            .map(|s| {
                let n = self
                    .active_per_sender
                    .get(&(campaign.clone(), s.clone()))
                    .copied()
                    .unwrap_or(0);
                (s.clone(), n)
            })
            .collect();
        for spec in &leads {
            if !batch_leads.insert(spec.lead_id.clone()) {
                return Err(EngineError::AlreadyInSequence(spec.lead_id.to_string()));
            }
            self.check_enrollable(workspace, &spec.lead_id, options)?;
            let sender = match &spec.sender {
                Some(s) if c.senders().contains(s) => s.clone(),
                Some(s) => return Err(EngineError::not_found("sender", s.as_str())),
                None => c
                    .senders()
                    .iter()
                    .min_by_key(|s| (load.get(*s).copied().unwrap_or(0), (*s).clone()))
                    .cloned()
                    .ok_or_else(|| EngineError::InvalidInput("campaign has no sender".into()))?,
            };
            *load.entry(sender.clone()).or_default() += 1;
            let id = SequenceId::of(workspace, campaign, &spec.lead_id);
            let tracked = self.sequences.get(&id).cloned().unwrap_or_default();
            if tracked.version > 0 {
                return Err(EngineError::AlreadyInSequence(spec.lead_id.to_string()));
            }
            let play_name = c.play().map(|p| p.name.clone()).unwrap_or_default();
            let decision = tracked
                .decide(
                    id.as_str(),
                    LeadSequenceCommand::Start {
                        workspace_id: workspace.clone(),
                        lead_id: spec.lead_id.clone(),
                        campaign_id: campaign.clone(),
                        play: play_name,
                        account_id: sender,
                        mailbox_id: c.mailbox_id().cloned(),
                        connection_degree: spec.connection_degree,
                        email_known: spec.profile.email.is_some(),
                        at: now,
                    },
                )
                .await
                .map_err(EngineError::Lead)?;
            records.extend(decision.records);
            staged.push((id, decision.next));
        }
        let profiles = leads
            .iter()
            .map(|spec| (spec.lead_id.clone(), spec.profile.clone()))
            .collect();
        self.directory
            .put_many(workspace, profiles)
            .await
            .map_err(EngineError::Directory)?;
        self.log.append(records).await?;
        let mut ids = Vec::new();
        for (id, next) in staged {
            self.sequences.insert(id.clone(), next);
            self.index_sequence(&id);
            self.due.set(DueKey::Lead(id.clone()), now);
            ids.push(id);
        }
        Ok(ids)
    }

    fn check_enrollable(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        options: EnrollOptions,
    ) -> Result<(), EngineError> {
        let Some(ids) = self.by_lead.get(&(workspace.clone(), lead.clone())) else {
            return Ok(());
        };
        for id in ids {
            let seq = &self.sequences[id].state;
            match seq.status() {
                SequenceStatus::Active => {
                    return Err(EngineError::AlreadyInSequence(lead.to_string()))
                }
                SequenceStatus::Stopped {
                    reason: StopReason::Replied,
                } if !options.force => {
                    return Err(EngineError::PreviouslyReplied(lead.to_string()))
                }
                SequenceStatus::Stopped {
                    reason: StopReason::OptedOut,
                } if !options.force => return Err(EngineError::OptedOut(lead.to_string())),
                _ => {}
            }
        }
        Ok(())
    }

    /// The sequence an inbound message of `lead` belongs to: the active one, else the latest.
    pub(crate) fn sequence_of_lead(
        &self,
        staged: &Staged,
        workspace: &WorkspaceId,
        lead: &LeadId,
        account: Option<&AccountId>,
    ) -> Option<SequenceId> {
        let ids = self.by_lead.get(&(workspace.clone(), lead.clone()))?;
        let state = |id: &SequenceId| self.sequence_in(staged, id);
        let matches = |id: &&SequenceId| {
            account.is_none_or(|a| {
                state(id)
                    .and_then(LeadSequence::enrollment)
                    .is_some_and(|e| &e.account_id == a)
            })
        };
        ids.iter()
            .filter(matches)
            .find(|id| state(id).is_some_and(LeadSequence::is_active))
            .or_else(|| ids.iter().rev().find(|id| matches(id)))
            .cloned()
    }

    /// The id of a lead's conversation aggregate.
    pub(crate) fn conversation_id(workspace: &WorkspaceId, lead: &LeadId) -> String {
        format!("{workspace}/{lead}")
    }

    /// Runs a command on a lead's conversation and commits it; returns whether anything was
    /// recorded (a duplicate delivery records nothing).
    pub(crate) async fn command_conversation(
        &mut self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        command: ConversationCommand,
    ) -> Result<bool, EngineError> {
        let mut staged = Staged::default();
        let id = Self::conversation_id(workspace, lead);
        let recorded = self.stage_conversation(&mut staged, id, command).await?;
        self.commit_staged(staged).await?;
        Ok(recorded)
    }

    /// Marks a lead's conversation read; a lead the workspace never heard of is not found.
    pub async fn mark_read(
        &mut self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        account: Option<AccountId>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let known = self
            .by_lead
            .contains_key(&(workspace.clone(), lead.clone()))
            || self
                .conversations
                .contains_key(&Self::conversation_id(workspace, lead));
        if !known {
            return Err(EngineError::not_found("lead", lead.as_str()));
        }
        if let Some(a) = &account {
            if !self.registry.belongs_to(a, workspace) {
                return Err(EngineError::not_found("sender", a.as_str()));
            }
        }
        self.command_conversation(
            workspace,
            lead,
            ConversationCommand::MarkRead {
                workspace_id: workspace.clone(),
                lead_id: lead.clone(),
                account_id: account,
                at: now,
            },
        )
        .await?;
        Ok(())
    }

    /// Stops a lead's active sequence.
    pub async fn stop_lead(
        &mut self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        reason: StopReason,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let id = self
            .sequence_of_lead(&Staged::default(), workspace, lead, None)
            .ok_or_else(|| EngineError::not_found("lead", lead.as_str()))?;
        self.command_sequence(&id, LeadSequenceCommand::Stop { reason, at: now }, now)
            .await?;
        Ok(())
    }

    /// Runs one command on one sequence and commits it on its own (the API's path).
    pub(crate) async fn command_sequence(
        &mut self,
        id: &SequenceId,
        command: LeadSequenceCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<LeadSequenceEvent>, EngineError> {
        let mut staged = Staged::default();
        let events = self.stage_sequence(&mut staged, id, command, now).await?;
        self.commit_staged(staged).await?;
        Ok(events)
    }

    /// Takes a lead out of its sender's waiting line.
    pub(crate) fn forget_waiting(&mut self, id: &SequenceId) {
        if let Some((account, campaign, due, _)) = self.waiting_of.remove(id) {
            if let Some(per_campaign) = self.waiting.get_mut(&account) {
                if let Some(set) = per_campaign.get_mut(&campaign) {
                    set.remove(&(due, id.clone()));
                    if set.is_empty() {
                        per_campaign.remove(&campaign);
                    }
                }
            }
        }
    }

    /// Starts a sender's actor again from the log (supervision: its previous actor died).
    pub(crate) async fn respawn_sender(
        &mut self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<actix::Addr<SenderActor>, EngineError> {
        if !self.owns(account) {
            return Err(EngineError::not_found("sender", account.as_str()));
        }
        tracing::warn!(account = %account, "sender actor re-spawned from the log");
        self.start_sender(account, now).await
    }

    /// Loads a sender this process runs from the log, starts its actor and registers it. Runs
    /// on the actor system's thread, where actors may be started.
    pub(crate) async fn start_sender(
        &mut self,
        account: &AccountId,
        now: DateTime<Utc>,
    ) -> Result<actix::Addr<SenderActor>, EngineError> {
        let desk = SenderDesk::load(
            account.clone(),
            self.desk_log(account),
            self.sender_policy,
            self.seed,
            now,
        )
        .await?;
        let workspace = desk
            .account()
            .workspace_id()
            .cloned()
            .ok_or_else(|| EngineError::not_found("sender", account.as_str()))?;
        let addr = actix::Actor::start(SenderActor::new(desk));
        self.registry
            .insert(account.clone(), workspace, addr.clone());
        Ok(addr)
    }

    /// Wakes a sender's waiting leads (after a resume or reconnect).
    pub fn wake_sender(&mut self, account: &AccountId, now: DateTime<Utc>) {
        self.parked.remove(account);
        self.due.set(DueKey::Sender(account.clone()), now);
    }

    /// A lead's profile, or an empty one when the directory lost it (its texts will then fail
    /// to render with a clear missing-variable error rather than be sent blank).
    pub(crate) async fn profile(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
    ) -> Result<LeadProfile, EngineError> {
        Ok(self
            .directory
            .get(workspace, lead)
            .await
            .map_err(EngineError::Directory)?
            .unwrap_or_default())
    }

    /// How long to wait before looking at a lead again after a transient store failure.
    pub(crate) fn store_retry(now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::minutes(1)
    }
}
