//! Several engine processes on one database: each sender (and the sequences it serves) is run by
//! the one process holding its lease. This process follows the log for what the others write
//! (enrollments, replies, sender commands), takes over senders whose lease lapsed, and gives up
//! senders when more processes join, so every live process runs its share.

use chrono::{DateTime, Duration, Utc};
use plera_domain::campaign::{Campaign, CampaignEvent};
use plera_domain::conversation::{Conversation, ConversationEvent};
use plera_domain::ids::{AccountId, CampaignId, SequenceId, WorkspaceId};
use plera_domain::lead::{LeadSequence, LeadSequenceEvent, PendingState};
use plera_domain::sender::{SenderAccount, SenderAccountEvent};
use plera_domain::workspace::{Workspace, WorkspaceEvent};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::book::Book;
use super::schedule_index::DueKey;
use crate::engine::EngineError;
use crate::sender::{serve, SenderDesk, SenderMsg, SenderReply};
use crate::store::{
    decode, node_resource, sender_resource, Condition, EventLog, Fence, FencedLog, LeaseStore,
    StoreError, StoredEvent,
};

const READ_BATCH: usize = 5_000;

/// How this engine shares senders with other engine processes on one database.
#[derive(Clone)]
pub struct ClusterConfig {
    /// This process's name, unique among the live ones (it owns the leases).
    pub node: String,
    /// The lease table (the same database as the event log).
    pub leases: Arc<dyn LeaseStore>,
    /// How long a lease lasts unrenewed: how long a dead process's senders stay idle.
    pub ttl: Duration,
    /// How often leases are renewed and the share of senders looked at (well under `ttl`).
    pub renew_every: Duration,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("node", &self.node)
            .field("ttl", &self.ttl)
            .field("renew_every", &self.renew_every)
            .finish_non_exhaustive()
    }
}

/// This process's place in the cluster.
pub(crate) struct Membership {
    pub(crate) config: ClusterConfig,
    /// The senders this process runs, with their fencing tokens.
    pub(crate) owned: BTreeMap<AccountId, u64>,
    /// The log position this process has read up to.
    pub(crate) cursor: u64,
    /// When leases are next renewed and the share looked at.
    pub(crate) next_renewal: Option<DateTime<Utc>>,
    /// The latest instant a message or tick brought (for messages that carry none).
    pub(crate) last_seen: Option<DateTime<Utc>>,
    /// The token of this process's own lease (it says the process is alive), once taken.
    pub(crate) node_token: Option<u64>,
    /// Shut down: gave its leases up and takes no new ones (a tick still queued does nothing).
    pub(crate) left: bool,
}

impl Membership {
    pub(crate) fn new(config: ClusterConfig) -> Self {
        Self {
            config,
            owned: BTreeMap::new(),
            cursor: 0,
            next_renewal: None,
            last_seen: None,
            node_token: None,
            left: false,
        }
    }
}

impl Book {
    /// Whether this process runs `account` (always, when it runs alone).
    pub(crate) fn owns(&self, account: &AccountId) -> bool {
        self.cluster
            .as_ref()
            .is_none_or(|c| c.owned.contains_key(account))
    }

    /// Whether this process runs the sender of sequence `id`.
    pub(crate) fn owns_sequence(&self, id: &SequenceId) -> bool {
        match &self.cluster {
            None => true,
            Some(c) => self
                .sequences
                .get(id)
                .and_then(|t| t.state.enrollment())
                .is_some_and(|e| c.owned.contains_key(&e.account_id)),
        }
    }

    /// Whether due work `key` is this process's to run.
    pub(crate) fn owns_key(&self, key: &DueKey) -> bool {
        match key {
            DueKey::Sender(a) => self.owns(a),
            DueKey::Lead(id) => self.owns_sequence(id),
        }
    }

    /// What an append touching `sequences` must find still true: the lease of every sender
    /// this process runs among them, and every sender that granted a slot unchanged since.
    pub(crate) fn conditions<'a>(
        &self,
        sequences: impl Iterator<Item = &'a SequenceId>,
        granted_on: &BTreeMap<AccountId, u64>,
    ) -> Vec<Condition> {
        let Some(c) = &self.cluster else {
            return Vec::new();
        };
        let mut accounts: BTreeMap<&AccountId, u64> = BTreeMap::new();
        for id in sequences {
            if let Some(e) = self.sequences.get(id).and_then(|t| t.state.enrollment()) {
                if let Some(token) = c.owned.get(&e.account_id) {
                    accounts.insert(&e.account_id, *token);
                }
            }
        }
        let leases = accounts.into_iter().map(|(a, token)| {
            Condition::Lease(Fence {
                resource: sender_resource(a.as_str()),
                owner: c.config.node.clone(),
                token,
            })
        });
        let unchanged = granted_on
            .iter()
            .map(|(account, sequence)| Condition::Unchanged {
                aggregate_type: <SenderAccount as cqrs_es::Aggregate>::TYPE.to_string(),
                aggregate_id: account.to_string(),
                sequence: *sequence,
            });
        leases.chain(unchanged).collect()
    }

    /// The log a sender's desk writes through: fenced by its lease when several processes run.
    pub(crate) fn desk_log(&self, account: &AccountId) -> Arc<dyn EventLog> {
        match self.cluster.as_ref().and_then(|c| {
            c.owned
                .get(account)
                .map(|token| (c.config.node.clone(), *token))
        }) {
            Some((owner, token)) => Arc::new(FencedLog::new(
                Arc::clone(&self.log),
                Fence {
                    resource: sender_resource(account.as_str()),
                    owner,
                    token,
                },
            )),
            None => Arc::clone(&self.log),
        }
    }

    /// The latest instant this process was told of.
    pub(crate) fn last_seen(&self) -> DateTime<Utc> {
        self.cluster
            .as_ref()
            .and_then(|c| c.last_seen)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }

    /// Reads what other processes appended since the last look and applies it.
    pub(crate) async fn sync(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let Some(c) = self.cluster.as_mut() else {
            return Ok(());
        };
        c.last_seen = Some(c.last_seen.map_or(now, |t| t.max(now)));
        let mut cursor = c.cursor;
        loop {
            let batch = self.log.read_after(cursor, READ_BATCH).await?;
            let Some(last) = batch.last() else { break };
            cursor = last.position;
            for stored in &batch {
                self.apply_foreign(stored, now).await?;
            }
            if let Some(c) = self.cluster.as_mut() {
                c.cursor = cursor;
            }
        }
        Ok(())
    }

    /// Applies one event read from the log, unless it is already applied (this process's own).
    async fn apply_foreign(
        &mut self,
        stored: &StoredEvent,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let id = stored.aggregate_id.as_str();
        match stored.aggregate_type.as_str() {
            t if t == <Workspace as cqrs_es::Aggregate>::TYPE => {
                let ws = WorkspaceId::new(id);
                if self
                    .workspaces
                    .get(&ws)
                    .is_none_or(|w| w.version < stored.sequence)
                {
                    let event: WorkspaceEvent = decode(stored)?;
                    self.note_workspace_event(id, &event);
                    self.workspaces
                        .entry(ws)
                        .or_default()
                        .apply_stored(event, stored.sequence);
                }
            }
            t if t == <Campaign as cqrs_es::Aggregate>::TYPE => {
                let cid = CampaignId::new(id);
                if self
                    .campaigns
                    .get(&cid)
                    .is_none_or(|c| c.version < stored.sequence)
                {
                    let event: CampaignEvent = decode(stored)?;
                    let tracked = self.campaigns.entry(cid.clone()).or_default();
                    tracked.apply_stored(event, stored.sequence);
                    if let Some(play) = tracked.state.play() {
                        self.plays.insert(cid, Arc::new(play.clone()));
                    }
                }
            }
            t if t == <LeadSequence as cqrs_es::Aggregate>::TYPE => {
                let sid = SequenceId::new(id);
                let known = self.sequences.get(&sid).map(|s| s.version);
                if known.is_none_or(|v| v < stored.sequence) {
                    let event: LeadSequenceEvent = decode(stored)?;
                    let was_active = self
                        .sequences
                        .get(&sid)
                        .is_some_and(|s| s.state.is_active());
                    self.sequences
                        .entry(sid.clone())
                        .or_default()
                        .apply_stored(event, stored.sequence);
                    let active = self.sequences[&sid].state.is_active();
                    if known.is_none() || (!was_active && active) {
                        self.index_sequence(&sid);
                    } else if was_active && !active {
                        self.note_finished(&sid);
                    }
                    if self.owns_sequence(&sid) {
                        if !active {
                            self.forget_waiting(&sid);
                        }
                        // Someone else wrote to one of ours (a reply, a stop): look again.
                        self.due.set(DueKey::Lead(sid), now);
                    }
                }
            }
            t if t == <Conversation as cqrs_es::Aggregate>::TYPE => {
                if self
                    .conversations
                    .get(id)
                    .is_none_or(|c| c.version < stored.sequence)
                {
                    let event: ConversationEvent = decode(stored)?;
                    self.conversations
                        .entry(id.to_string())
                        .or_default()
                        .apply_stored(event, stored.sequence);
                }
            }
            _ => {
                let account = AccountId::new(id);
                if !self.registry.knows(&account) {
                    if let Ok(SenderAccountEvent::AccountConnected { workspace_id, .. }) =
                        decode::<SenderAccountEvent>(stored)
                    {
                        self.registry
                            .insert_elsewhere(account.clone(), workspace_id);
                    }
                }
                if self.owns(&account) && self.registry.get(&account).is_some() {
                    let msg = SenderMsg::CatchUp {
                        sequence: stored.sequence,
                        now,
                    };
                    self.ask_sender(&account, msg).await?;
                    self.wake_sender(&account, now);
                }
            }
        }
        Ok(())
    }

    /// Renews this process's leases and takes or gives up senders so that every live process
    /// runs its share; due every `renew_every`.
    pub(crate) async fn maintain(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let Some(c) = self.cluster.as_ref() else {
            return Ok(());
        };
        if c.next_renewal.is_some_and(|t| now < t) {
            return Ok(());
        }
        let (leases, node, ttl) = (
            Arc::clone(&c.config.leases),
            c.config.node.clone(),
            c.config.ttl,
        );
        let owned: Vec<(AccountId, u64)> = c.owned.iter().map(|(a, t)| (a.clone(), *t)).collect();
        if let Some(c) = self.cluster.as_mut() {
            c.next_renewal = Some(now + c.config.renew_every);
        }

        // Alive, and still the owner of what we run: one round trip for all of it.
        let me = node_resource(&node);
        let mut mine: Vec<(String, u64)> = owned
            .iter()
            .map(|(a, t)| (sender_resource(a.as_str()), *t))
            .collect();
        let node_token = self.cluster.as_ref().and_then(|c| c.node_token);
        if let Some(token) = node_token {
            mine.push((me.clone(), token));
        }
        let renewed: std::collections::BTreeSet<String> = leases
            .renew(&node, &mine, ttl, now)
            .await?
            .into_iter()
            .collect();
        if node_token.is_none_or(|_| !renewed.contains(&me)) {
            let token = leases.acquire(&me, &node, ttl, now).await?;
            if let Some(c) = self.cluster.as_mut() {
                c.node_token = token;
            }
        }
        for (account, _) in owned {
            if !renewed.contains(&sender_resource(account.as_str())) {
                tracing::warn!(account = %account, "sender lease lost");
                self.drop_sender(&account, now).await;
            }
        }

        let live_nodes = leases.live("node:", now).await?.len().max(1);
        let senders: Vec<AccountId> = self.registry.all().into_iter().map(|(a, _)| a).collect();
        let share = senders.len().div_ceil(live_nodes);
        let mine: Vec<AccountId> = self
            .cluster
            .as_ref()
            .map(|c| c.owned.keys().cloned().collect())
            .unwrap_or_default();
        if mine.len() > share {
            // Give up the surplus: stop running it first, then free the lease, so it never has
            // two owners.
            let mut ranked = mine;
            ranked.sort_by_key(|a| rank(&node, a));
            for account in ranked.into_iter().skip(share) {
                let token = self
                    .cluster
                    .as_ref()
                    .and_then(|c| c.owned.get(&account).copied());
                self.drop_sender(&account, now).await;
                if let Some(token) = token {
                    leases
                        .release(&sender_resource(account.as_str()), &node, token)
                        .await?;
                }
            }
            return Ok(());
        }
        if mine.len() == share {
            return Ok(());
        }
        let held: std::collections::BTreeSet<String> = leases
            .live("sender:", now)
            .await?
            .into_iter()
            .map(|l| l.resource)
            .collect();
        let mut free: Vec<AccountId> = senders
            .into_iter()
            .filter(|a| !held.contains(&sender_resource(a.as_str())))
            .collect();
        free.sort_by_key(|a| rank(&node, a));
        let mut taken = Vec::new();
        for account in free.into_iter().take(share - mine.len()) {
            if let Some(token) = leases
                .acquire(&sender_resource(account.as_str()), &node, ttl, now)
                .await?
            {
                taken.push((account, token));
            }
        }
        if taken.is_empty() {
            return Ok(());
        }
        // The previous owners' last appends committed before our leases did: read them first.
        self.sync(now).await?;
        for (account, token) in taken {
            if let Some(c) = self.cluster.as_mut() {
                c.owned.insert(account.clone(), token);
            }
            if let Err(e) = self.adopt(&account, now).await {
                tracing::warn!(account = %account, error = %e, "could not take over sender");
                self.drop_sender(&account, now).await;
                leases
                    .release(&sender_resource(account.as_str()), &node, token)
                    .await?;
            }
        }
        Ok(())
    }

    /// Starts running a sender whose lease this process just took: its actor from the log, its
    /// sequences scheduled, steps left in flight by the previous owner reconciled first.
    async fn adopt(&mut self, account: &AccountId, now: DateTime<Utc>) -> Result<(), EngineError> {
        self.start_sender(account, now).await?;
        let ours: Vec<SequenceId> = self
            .sequences
            .iter()
            .filter(|(_, t)| {
                t.state
                    .enrollment()
                    .is_some_and(|e| &e.account_id == account)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in ours {
            let state = &self.sequences[&id].state;
            if !state.is_active() {
                continue;
            }
            if state
                .pending()
                .is_some_and(|p| p.state == PendingState::InFlight)
            {
                self.needs_unknown.insert(id.clone());
            }
            self.due.set(DueKey::Lead(id), now);
        }
        self.wake_sender(account, now);
        tracing::info!(account = %account, "sender taken over");
        Ok(())
    }

    /// Stops running a sender here (its lease lapsed, was lost, or goes to another process).
    pub(crate) async fn drop_sender(&mut self, account: &AccountId, now: DateTime<Utc>) {
        if let Some(c) = self.cluster.as_mut() {
            c.owned.remove(account);
        }
        if let Some(addr) = self.registry.get(account) {
            let _ = addr.send(SenderMsg::Retire { now }).await;
        }
        self.registry.retire(account);
        if let Some(lines) = self.waiting.remove(account) {
            for line in lines.into_values() {
                for (_, id) in line {
                    self.waiting_of.remove(&id);
                }
            }
        }
        self.parked.remove(account);
        let gone: Vec<SequenceId> = self
            .needs_unknown
            .iter()
            .filter(|id| !self.owns_sequence(id))
            .cloned()
            .collect();
        for id in gone {
            self.needs_unknown.remove(&id);
        }
    }

    /// Stops running every sender and gives up every lease, the node's own last (shutdown).
    pub(crate) async fn leave(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let Some(c) = self.cluster.as_ref() else {
            return Ok(());
        };
        let (leases, node) = (Arc::clone(&c.config.leases), c.config.node.clone());
        let owned: Vec<(AccountId, u64)> = c.owned.iter().map(|(a, t)| (a.clone(), *t)).collect();
        let node_token = c.node_token;
        for (account, token) in owned {
            self.drop_sender(&account, now).await;
            leases
                .release(&sender_resource(account.as_str()), &node, token)
                .await?;
        }
        if let Some(token) = node_token {
            leases.release(&node_resource(&node), &node, token).await?;
        }
        if let Some(c) = self.cluster.as_mut() {
            c.node_token = None;
            c.next_renewal = None;
            c.left = true;
        }
        Ok(())
    }

    /// Whether this process left the cluster (it is shutting down).
    pub(crate) fn has_left(&self) -> bool {
        self.cluster.as_ref().is_some_and(|c| c.left)
    }

    /// Serves a sender command (or a read, or a provider warning) for a sender another process
    /// runs: on a desk loaded from the log for the one message, unfenced; optimistic concurrency
    /// orders it with the owner's appends, and the owner reads it from the log.
    pub(crate) async fn serve_elsewhere(
        &mut self,
        account: &AccountId,
        msg: SenderMsg,
    ) -> Result<SenderReply, EngineError> {
        if matches!(
            msg,
            SenderMsg::Offer { .. } | SenderMsg::Release { .. } | SenderMsg::Report { .. }
        ) {
            // Quota decisions belong to the owner alone.
            return Err(EngineError::Store(StoreError::LeaseLost {
                resource: sender_resource(account.as_str()),
            }));
        }
        let mut desk = SenderDesk::load(
            account.clone(),
            Arc::clone(&self.log),
            self.sender_policy,
            self.seed,
            msg.at(),
        )
        .await?;
        serve(&mut desk, msg).await
    }

    /// Whether this process shares the database with others.
    pub(crate) fn clustered(&self) -> bool {
        self.cluster.is_some()
    }
}

/// The order in which `node` prefers senders: differs per node, so two processes starting
/// together do not reach for the same ones.
fn rank(node: &str, account: &AccountId) -> u64 {
    plera_domain::seed::mix(0, &[node, account.as_str()])
}
