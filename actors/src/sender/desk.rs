//! The sender's logic without the actor around it: testable with plain async calls.

use chrono::{DateTime, Duration, Utc};
use plera_domain::ids::{AccountId, CampaignId, ProviderAccountId, SequenceId};
use plera_domain::ports::GatewayErrorKind;
use plera_domain::quota::{QuotaPolicy, SenderProfile, SenderQuota, Usage};
use plera_domain::sender::{
    SenderAccount, SenderAccountCommand, SenderAccountError, SenderAccountEvent, WarningKind,
};
use plera_domain::values::{Action, Tier};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::EngineError;
use crate::store::{decode, EventLog, StoreError, Tracked};

/// Share of the provider-reported quota at which the sender pauses before LinkedIn does.
pub const USAGE_PAUSE_THRESHOLD: f64 = 0.9;
/// Failures in a row after which the sender pauses.
pub const FAILURE_STREAK_LIMIT: u32 = 5;
/// Appends retried after an optimistic-concurrency conflict before giving up.
const CONFLICT_RETRIES: usize = 3;

/// A lead that waits for a LinkedIn slot on this sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotCandidate {
    /// The lead's sequence.
    pub sequence: SequenceId,
    /// Its campaign (slots are shared fairly between campaigns).
    pub campaign: CampaignId,
    /// Invite or message.
    pub action: Action,
    /// Since when it has been due.
    pub due: DateTime<Utc>,
}

/// A slot granted: the lead may start its step now; the quota already counts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotGrant {
    /// The lead's sequence.
    pub sequence: SequenceId,
    /// Invite or message.
    pub action: Action,
    /// The instant the slot is for.
    pub at: DateTime<Utc>,
}

/// What the step runner needs to know about the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderCard {
    /// Our id.
    pub account: AccountId,
    /// The provider's id.
    pub provider_account: ProviderAccountId,
    /// Subscription (note length).
    pub tier: Tier,
}

/// The sender's answer to an offer of waiting leads.
#[derive(Clone, Debug, PartialEq)]
pub struct SlotAnswer {
    /// Slots granted now.
    pub granted: Vec<SlotGrant>,
    /// When to offer the remaining leads again; `None` when only the user can unblock the sender
    /// (restricted, session expired, paused by the user, disconnected).
    pub next_wake: Option<DateTime<Utc>>,
    /// The sender's card, when it is connected.
    pub card: Option<SenderCard>,
    /// The sender's stored sequence the answer was decided on: with other processes, the steps
    /// it allows start only if the sender is still there (nobody paused it meanwhile).
    pub version: u64,
    /// Whether the sender is disconnected for good (its leads should stop).
    pub disconnected: bool,
}

/// What happened to a step that used a slot, for the sender's watch on warnings.
#[derive(Clone, Debug, PartialEq)]
pub enum StepReport {
    /// The provider took the action and reported this share of its quota used.
    Done {
        /// Provider-reported usage, `0.0..=1.0`.
        usage: Option<f64>,
    },
    /// The provider refused or failed.
    Failed(GatewayErrorKind),
    /// The outcome is unknown (timeout).
    Unknown,
}

/// A sender's state and quota, and the decisions on them.
pub struct SenderDesk {
    id: AccountId,
    sender: Tracked<SenderAccount>,
    quota: Option<SenderQuota>,
    policy: QuotaPolicy,
    seed: u64,
    last_campaign: Option<CampaignId>,
    failure_streak: u32,
    log: Arc<dyn EventLog>,
}

impl SenderDesk {
    /// Rebuilds a sender from the log: its aggregate and the actions its quota must count.
    pub async fn load(
        id: AccountId,
        log: Arc<dyn EventLog>,
        policy: QuotaPolicy,
        seed: u64,
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        let mut sender = Tracked::<SenderAccount>::default();
        for stored in log.load(SenderAccount_TYPE, id.as_str()).await? {
            let event: SenderAccountEvent = decode(&stored)?;
            sender.apply_stored(event, stored.sequence);
        }
        let mut desk = Self {
            id,
            sender,
            quota: None,
            policy,
            seed,
            last_campaign: None,
            failure_streak: 0,
            log,
        };
        desk.rebuild_quota();
        if let Some(quota) = desk.quota.as_mut() {
            let since = now - Duration::days(8);
            for action in desk.log.sender_actions(&desk.id, since).await? {
                quota.record(action.action, action.at);
            }
        }
        Ok(desk)
    }

    fn rebuild_quota(&mut self) {
        let s = &self.sender.state;
        self.quota = match (
            s.limits(),
            s.tier(),
            s.connected_at(),
            s.timezone(),
            s.working_hours(),
        ) {
            (Some(limits), Some(tier), Some(connected_at), Some(tz), Some(hours)) => {
                let profile = SenderProfile {
                    limits,
                    tier,
                    warm_up: s.warm_up().unwrap_or(false),
                    connected_at,
                    tz,
                    hours,
                };
                match self.quota.take() {
                    // Keep the counted actions: only the limits change after a connect.
                    Some(mut quota) => {
                        quota.set_limits(limits);
                        Some(quota)
                    }
                    None => Some(SenderQuota::new(
                        profile,
                        self.policy,
                        self.seed,
                        self.id.as_str(),
                    )),
                }
            }
            _ => None,
        };
    }

    /// The sender's id.
    pub fn id(&self) -> &AccountId {
        &self.id
    }

    /// The sender's aggregate.
    pub fn account(&self) -> &SenderAccount {
        &self.sender.state
    }

    /// Today's use against each limit.
    pub fn usage(&self, now: DateTime<Utc>) -> Option<Usage> {
        self.quota.as_ref().map(|q| q.usage_today(now))
    }

    fn card(&self) -> Option<SenderCard> {
        let s = &self.sender.state;
        Some(SenderCard {
            account: self.id.clone(),
            provider_account: s.provider_account_id()?.clone(),
            tier: s.tier()?,
        })
    }

    /// Runs a command on the sender and appends its events (retrying a bounded number of times
    /// after a conflict with another writer, reloading first).
    pub async fn execute(
        &mut self,
        command: SenderAccountCommand,
    ) -> Result<Vec<SenderAccountEvent>, EngineError> {
        for _ in 0..CONFLICT_RETRIES {
            let decision = self
                .sender
                .decide(self.id.as_str(), command.clone())
                .await
                .map_err(EngineError::Sender)?;
            if decision.events.is_empty() {
                return Ok(Vec::new());
            }
            match self.log.append(decision.records).await {
                Ok(()) => {
                    let limits_changed = decision
                        .events
                        .iter()
                        .any(|e| matches!(e, SenderAccountEvent::LimitsChanged { .. }));
                    let connected = decision
                        .events
                        .iter()
                        .any(|e| matches!(e, SenderAccountEvent::AccountConnected { .. }));
                    self.sender = decision.next;
                    if connected || limits_changed {
                        self.rebuild_quota();
                    }
                    return Ok(decision.events);
                }
                Err(StoreError::Conflict { .. }) => self.reload().await?,
                Err(e) => return Err(EngineError::Store(e)),
            }
        }
        Err(EngineError::Store(StoreError::Conflict {
            aggregate_type: SenderAccount_TYPE.into(),
            aggregate_id: self.id.to_string(),
        }))
    }

    /// Reads what other processes appended to this sender, when its stored sequence is past
    /// ours (our own appends are already applied).
    pub async fn catch_up(&mut self, sequence: u64) -> Result<(), StoreError> {
        if sequence > self.sender.version {
            self.reload().await?;
        }
        Ok(())
    }

    async fn reload(&mut self) -> Result<(), StoreError> {
        let mut sender = Tracked::<SenderAccount>::default();
        for stored in self.log.load(SenderAccount_TYPE, self.id.as_str()).await? {
            let event: SenderAccountEvent = decode(&stored)?;
            sender.apply_stored(event, stored.sequence);
        }
        self.sender = sender;
        self.rebuild_quota();
        Ok(())
    }

    /// Offers waiting leads; grants what the quota, the working hours, the pacing and the pauses
    /// allow right now, round-robin across campaigns so no campaign starves another.
    pub async fn offer(
        &mut self,
        now: DateTime<Utc>,
        candidates: Vec<SlotCandidate>,
    ) -> Result<SlotAnswer, EngineError> {
        let version = self.sender.version;
        let blocked = |disconnected| SlotAnswer {
            granted: Vec::new(),
            next_wake: None,
            card: None,
            version,
            disconnected,
        };
        if self.sender.state.disconnected_at().is_some() {
            return Ok(blocked(true));
        }
        if self.sender.state.connected_at().is_none() {
            return Ok(blocked(false));
        }
        if let Some(pause) = self.sender.state.pause() {
            match pause.until {
                Some(until) if until <= now => {
                    self.execute(SenderAccountCommand::ResumeAfterCooldown { at: now })
                        .await?;
                }
                Some(until) => {
                    return Ok(SlotAnswer {
                        next_wake: Some(until),
                        ..blocked(false)
                    })
                }
                None => return Ok(blocked(false)),
            }
        }
        let Some(quota) = self.quota.as_mut() else {
            return Ok(blocked(false));
        };

        // Campaigns in round-robin order, starting after the one served last.
        let mut by_campaign: BTreeMap<CampaignId, Vec<SlotCandidate>> = BTreeMap::new();
        for c in candidates {
            by_campaign.entry(c.campaign.clone()).or_default().push(c);
        }
        for list in by_campaign.values_mut() {
            list.sort_by(|a, b| (a.due, &a.sequence).cmp(&(b.due, &b.sequence)));
        }
        let mut order: Vec<CampaignId> = by_campaign.keys().cloned().collect();
        if let Some(last) = &self.last_campaign {
            let split = order.iter().position(|c| c > last).unwrap_or(0);
            order.rotate_left(split);
        }

        let mut granted = Vec::new();
        loop {
            let mut progressed = false;
            for campaign in &order {
                let Some(list) = by_campaign.get_mut(campaign) else {
                    continue;
                };
                if let Some(i) = list.iter().position(|c| quota.check(c.action, now).is_ok()) {
                    let c = list.remove(i);
                    quota.record(c.action, now);
                    self.last_campaign = Some(campaign.clone());
                    granted.push(SlotGrant {
                        sequence: c.sequence,
                        action: c.action,
                        at: now,
                    });
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        let next_wake = by_campaign
            .values()
            .flatten()
            .filter_map(|c| quota.next_allowed(c.action, now))
            .min();
        Ok(SlotAnswer {
            granted,
            next_wake,
            card: self.card(),
            // After anything this offer recorded itself (an automatic resume).
            version: self.sender.version,
            disconnected: false,
        })
    }

    /// Gives back a slot whose step did not start.
    pub fn release(&mut self, action: Action, at: DateTime<Utc>) {
        if let Some(quota) = self.quota.as_mut() {
            quota.unrecord(action, at);
        }
    }

    /// Watches a step's result for warning signs: the provider's usage nearing its cap, a run of
    /// failures, or a failure that is itself a warning. Records the warning (and its pause).
    pub async fn report(
        &mut self,
        report: StepReport,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let warning = match report {
            StepReport::Done { usage } => {
                self.failure_streak = 0;
                match usage {
                    Some(u) if u >= USAGE_PAUSE_THRESHOLD => Some(WarningKind::UsageNearCap),
                    _ => None,
                }
            }
            StepReport::Failed(kind) => match kind.disposition() {
                plera_domain::ports::Disposition::PauseAccount(w) => {
                    self.failure_streak = 0;
                    Some(w)
                }
                plera_domain::ports::Disposition::Retry => {
                    self.failure_streak += 1;
                    if self.failure_streak >= FAILURE_STREAK_LIMIT {
                        self.failure_streak = 0;
                        Some(WarningKind::FailureStreak)
                    } else {
                        None
                    }
                }
                _ => None,
            },
            StepReport::Unknown => None,
        };
        if let Some(kind) = warning {
            self.record_warning(kind, None, at).await?;
        }
        Ok(())
    }

    /// Records a warning (and the pause it calls for).
    pub async fn record_warning(
        &mut self,
        kind: WarningKind,
        detail: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        match self
            .execute(SenderAccountCommand::RecordWarning { kind, detail, at })
            .await
        {
            Ok(_) | Err(EngineError::Sender(SenderAccountError::Disconnected)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[allow(non_upper_case_globals)]
const SenderAccount_TYPE: &str = <SenderAccount as cqrs_es::Aggregate>::TYPE;
