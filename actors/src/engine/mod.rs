//! The `Engine`: plera's in-process API. A `Send + Sync + Clone` handle with plain async
//! methods and typed errors; the actors behind it run on a private actix system.

mod builder;
mod error;
mod inbound;
mod registry;
mod views;

pub use builder::EngineBuilder;
pub use error::EngineError;
pub use registry::Registry;
pub use views::SHOWN_WARNINGS;

use actix::Addr;
use chrono::{DateTime, Duration, Utc};
use plera_domain::campaign::CampaignCommand;
use plera_domain::ids::{
    AccountId, CampaignId, LeadId, MailboxId, OwnerId, ProviderAccountId, SequenceId, WorkspaceId,
};
use plera_domain::lead::{LeadSequence, StopReason};
use plera_domain::play::Play;
use plera_domain::ports::{Clock, IdSource, InboundEvent};
use plera_domain::quota::Usage;
use plera_domain::sender::{
    PauseReason, Readiness, SenderAccount, SenderAccountCommand, SenderStatus,
};
use plera_domain::values::{Limits, Tier, WorkingHours};
use plera_domain::workspace::{WorkspaceCommand, WorkspaceEvent};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

use crate::driver::{
    DriverActor, DriverMsg, DriverReply, EnrollOptions, Inbound, IngestOutcome, LeadSpec,
    TickReport,
};
use crate::sender::{SenderMsg, SenderReply};
use crate::store::Tracked;
use crate::system::ActorSystem;

/// How long a hosted-auth state token stays valid.
pub const CONNECTION_TTL: Duration = Duration::minutes(30);

/// The link a user follows to connect (or reconnect) a LinkedIn account.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionLink {
    /// The hosted-auth URL to send the user to.
    pub url: String,
    /// The opaque, single-use state token (the provider hands it back on completion).
    pub state: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for ConnectionLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token completes a connection: it never goes to logs.
        f.debug_struct("ConnectionLink")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What the workspace chose for a newly connected sender.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderSettings {
    /// LinkedIn subscription.
    pub tier: Tier,
    /// Limits; the tier's defaults when `None`.
    pub limits: Option<Limits>,
    /// IANA time zone.
    pub timezone: chrono_tz::Tz,
    /// Local working hours.
    pub working_hours: WorkingHours,
    /// Whether the limits ramp up (new account).
    pub warm_up: bool,
}

/// A campaign to create.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignSpec {
    /// Its id (chosen by the caller, or generated).
    pub id: Option<CampaignId>,
    /// Display name.
    pub name: String,
    /// The play.
    pub play: Play,
    /// Senders whose quota it draws on.
    pub senders: Vec<AccountId>,
    /// Mailbox for email steps.
    pub mailbox: Option<MailboxId>,
}

/// A sender as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderView {
    /// Its id.
    pub account: AccountId,
    /// Connected, paused, restricted, needs reconnect, disconnected.
    pub status: SenderStatus,
    /// Whether invite and message steps can run.
    pub readiness: Readiness,
    /// The limits in force.
    pub limits: Option<Limits>,
    /// Today's use.
    pub usage: Option<Usage>,
    /// The full aggregate, for anything else.
    pub account_state: SenderAccount,
}

struct Inner {
    system: Mutex<Option<ActorSystem>>,
    driver: Addr<DriverActor>,
    /// Where `ingest` queues its events for the driver (see `inbound`).
    inbound: tokio::sync::mpsc::Sender<inbound::Queued>,
    registry: Registry,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    seed: u64,
    auth_base_url: String,
    deterministic_tokens: bool,
    views: Option<Arc<dyn plera_projections::ViewQueries>>,
    clustered: bool,
}

/// The handle to a running engine. Cheap to clone; every clone talks to the same engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    async fn driver(&self, msg: DriverMsg) -> Result<DriverReply, EngineError> {
        self.inner
            .driver
            .send(msg)
            .await
            .map_err(|_| EngineError::SystemDown)?
    }

    async fn sender(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
        msg: SenderMsg,
    ) -> Result<SenderReply, EngineError> {
        if !self.inner.registry.belongs_to(account, workspace) {
            return Err(EngineError::not_found("sender", account.as_str()));
        }
        // Through the driver: it re-spawns a dead actor from the log (supervision), and serves
        // a sender another process runs from the log.
        match self
            .driver(DriverMsg::AskSender(account.clone(), msg))
            .await?
        {
            DriverReply::Sender(reply) => Ok(reply),
            _ => Err(EngineError::SystemDown),
        }
    }

    fn new_token(&self) -> String {
        if self.inner.deterministic_tokens {
            let n = self.inner.ids.next_id("state");
            format!(
                "{:016x}{:016x}",
                plera_domain::seed::mix(self.inner.seed, &["state", &n]),
                plera_domain::seed::mix(self.inner.seed, &["state2", &n])
            )
        } else {
            crate::id_source::random_hex(32)
        }
    }

    /// Begins connecting a LinkedIn account (or reconnecting `reconnect`): returns the hosted-auth
    /// link with a fresh single-use state token. Only the token's digest is recorded.
    pub async fn start_connection(
        &self,
        workspace: &WorkspaceId,
        owner: &OwnerId,
        reconnect: Option<&AccountId>,
    ) -> Result<ConnectionLink, EngineError> {
        check_id("workspace", workspace.as_str())?;
        check_id("owner", owner.as_str())?;
        if let Some(a) = reconnect {
            if !self.inner.registry.belongs_to(a, workspace) {
                return Err(EngineError::not_found("sender", a.as_str()));
            }
        }
        let now = self.now();
        let state = self.new_token();
        let expires_at = now + CONNECTION_TTL;
        self.driver(DriverMsg::Workspace {
            workspace: workspace.clone(),
            command: WorkspaceCommand::RequestConnection {
                workspace_id: workspace.clone(),
                state_digest: digest(&state),
                owner: owner.clone(),
                reconnect: reconnect.cloned(),
                expires_at,
                at: now,
            },
            extra: Vec::new(),
        })
        .await?;
        Ok(ConnectionLink {
            url: format!("{}?state={state}", self.inner.auth_base_url),
            state,
            expires_at,
        })
    }

    /// Completes a connection flow: records `AccountConnected` (or the reconnect) and starts the
    /// sender's actor. A wrong, reused or expired state is refused and nothing is recorded.
    pub async fn complete_connection(
        &self,
        state: &str,
        provider_account_id: &ProviderAccountId,
        settings: SenderSettings,
    ) -> Result<AccountId, EngineError> {
        check_id("provider account", provider_account_id.as_str())?;
        let now = self.now();
        let digest = digest(state);
        let DriverReply::Owner(owner) = self.driver(DriverMsg::StateOwner(digest.clone())).await?
        else {
            return Err(EngineError::SystemDown);
        };
        let (workspace, pending) = owner.ok_or(EngineError::Workspace(
            plera_domain::workspace::WorkspaceError::UnknownState,
        ))?;
        let limits = settings
            .limits
            .unwrap_or_else(|| settings.tier.default_limits());
        limits
            .validate()
            .map_err(|e| EngineError::Sender(e.into()))?;
        let new_id = AccountId::new(self.inner.ids.next_id("acc"));
        let mut extra = Vec::new();
        // A new sender's AccountConnected commits with the workspace's ConnectionCompleted, so a
        // spent token always has its sender and a sender always its spent token.
        let is_reconnect = pending.reconnect.clone();
        if pending.completed.is_some() {
            return Err(EngineError::Workspace(
                plera_domain::workspace::WorkspaceError::StateUsed,
            ));
        }
        if now >= pending.expires_at {
            return Err(EngineError::Workspace(
                plera_domain::workspace::WorkspaceError::StateExpired,
            ));
        }
        if let Some(account) = &is_reconnect {
            // The sender decides first: a reconnect it does not need is refused before the
            // token is spent, so a refused call changes nothing.
            self.sender_command(
                &workspace,
                account,
                SenderAccountCommand::Reconnect { at: now },
            )
            .await?;
        }
        if is_reconnect.is_none() {
            let decision = Tracked::<SenderAccount>::default()
                .decide(
                    new_id.as_str(),
                    SenderAccountCommand::Connect {
                        workspace_id: workspace.clone(),
                        account_id: new_id.clone(),
                        provider_account_id: provider_account_id.clone(),
                        owner: pending.owner.clone(),
                        tier: settings.tier,
                        limits,
                        timezone: settings.timezone,
                        working_hours: settings.working_hours,
                        warm_up: settings.warm_up,
                        at: now,
                    },
                )
                .await
                .map_err(EngineError::Sender)?;
            extra = decision.records;
        }
        let DriverReply::WorkspaceEvents(events) = self
            .driver(DriverMsg::Workspace {
                workspace: workspace.clone(),
                command: WorkspaceCommand::CompleteConnection {
                    state_digest: digest,
                    account_id: new_id.clone(),
                    at: now,
                },
                extra,
            })
            .await?
        else {
            return Err(EngineError::SystemDown);
        };
        let account = events
            .iter()
            .find_map(|e| match e {
                WorkspaceEvent::ConnectionCompleted { account_id, .. } => Some(account_id.clone()),
                _ => None,
            })
            .unwrap_or(new_id);
        if is_reconnect.is_none() {
            self.spawn_sender(account.clone(), workspace).await?;
        }
        Ok(account)
    }

    pub(crate) async fn spawn_sender(
        &self,
        account: AccountId,
        workspace: WorkspaceId,
    ) -> Result<(), EngineError> {
        if self.inner.clustered {
            // Whichever process has room takes its lease at its next tick.
            self.inner.registry.insert_elsewhere(account, workspace);
            return Ok(());
        }
        // The driver loads it from the log and starts its actor on the actor system's thread.
        self.driver(DriverMsg::StartSender(account, self.now()))
            .await?;
        Ok(())
    }

    /// Runs a command on a sender through the driver, so it never lands between a slot grant and
    /// the `StepStarted` it allows (a pause always precedes or follows a whole tick), then lets the
    /// sender's waiting leads ask again.
    async fn sender_command(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
        command: SenderAccountCommand,
    ) -> Result<(), EngineError> {
        if !self.inner.registry.belongs_to(account, workspace) {
            return Err(EngineError::not_found("sender", account.as_str()));
        }
        self.driver(DriverMsg::SenderCommand {
            account: account.clone(),
            command,
            now: self.now(),
        })
        .await?;
        Ok(())
    }

    /// Changes a sender's limits.
    pub async fn change_limits(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
        limits: Limits,
    ) -> Result<(), EngineError> {
        let at = self.now();
        self.sender_command(
            workspace,
            account,
            SenderAccountCommand::ChangeLimits { limits, at },
        )
        .await
    }

    /// Pauses a sender until the user resumes it.
    pub async fn pause_sender(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
    ) -> Result<(), EngineError> {
        let at = self.now();
        let command = SenderAccountCommand::Pause {
            reason: PauseReason::User,
            until: None,
            at,
        };
        self.sender_command(workspace, account, command).await
    }

    /// Resumes a paused sender (not one whose session expired: reconnect that one).
    pub async fn resume_sender(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
    ) -> Result<(), EngineError> {
        let at = self.now();
        self.sender_command(workspace, account, SenderAccountCommand::Resume { at })
            .await
    }

    /// Disconnects a sender: it sends nothing more and its waiting leads stop.
    pub async fn disconnect_sender(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
    ) -> Result<(), EngineError> {
        let at = self.now();
        self.sender_command(workspace, account, SenderAccountCommand::Disconnect { at })
            .await
    }

    /// Stops a sender's actor; the next use re-spawns it from the log (its state is all there).
    /// Useful after the database was changed by hand; the supervision path is the same one that
    /// replaces an actor that died.
    pub async fn reload_sender(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
    ) -> Result<(), EngineError> {
        if !self.inner.registry.belongs_to(account, workspace) {
            return Err(EngineError::not_found("sender", account.as_str()));
        }
        if let Some(addr) = self.inner.registry.get(account) {
            // No answer to wait for: a stopping actor drops its replies.
            addr.do_send(SenderMsg::Retire { now: self.now() });
        }
        Ok(())
    }

    /// Registers a mailbox for the workspace's email steps.
    pub async fn register_mailbox(
        &self,
        workspace: &WorkspaceId,
        mailbox: &MailboxId,
        address: &str,
    ) -> Result<(), EngineError> {
        check_id("workspace", workspace.as_str())?;
        check_id("mailbox", mailbox.as_str())?;
        let at = self.now();
        self.driver(DriverMsg::Workspace {
            workspace: workspace.clone(),
            command: WorkspaceCommand::RegisterMailbox {
                workspace_id: workspace.clone(),
                mailbox_id: mailbox.clone(),
                address: address.to_string(),
                at,
            },
            extra: Vec::new(),
        })
        .await?;
        Ok(())
    }

    /// Creates a campaign running `spec.play` over `spec.senders` (and the mailbox).
    pub async fn create_campaign(
        &self,
        workspace: &WorkspaceId,
        spec: CampaignSpec,
    ) -> Result<CampaignId, EngineError> {
        check_id("workspace", workspace.as_str())?;
        if let Some(id) = &spec.id {
            check_id("campaign", id.as_str())?;
        }
        let at = self.now();
        let id = spec
            .id
            .unwrap_or_else(|| CampaignId::new(self.inner.ids.next_id("camp")));
        let reply = self
            .driver(DriverMsg::CreateCampaign(CampaignCommand::Create {
                workspace_id: workspace.clone(),
                campaign_id: id,
                name: spec.name,
                play: spec.play,
                senders: spec.senders,
                mailbox_id: spec.mailbox,
                at,
            }))
            .await?;
        match reply {
            DriverReply::Campaign(id) => Ok(id),
            _ => Err(EngineError::SystemDown),
        }
    }

    /// Enrolls one lead.
    pub async fn enroll(
        &self,
        workspace: &WorkspaceId,
        campaign: &CampaignId,
        lead: LeadSpec,
        options: EnrollOptions,
    ) -> Result<SequenceId, EngineError> {
        let mut ids = self
            .enroll_many(workspace, campaign, vec![lead], options)
            .await?;
        ids.pop().ok_or(EngineError::SystemDown)
    }

    /// Enrolls many leads in one commit: all of them or none.
    pub async fn enroll_many(
        &self,
        workspace: &WorkspaceId,
        campaign: &CampaignId,
        leads: Vec<LeadSpec>,
        options: EnrollOptions,
    ) -> Result<Vec<SequenceId>, EngineError> {
        for lead in &leads {
            check_id("lead", lead.lead_id.as_str())?;
        }
        let now = self.now();
        match self
            .driver(DriverMsg::Enroll {
                workspace: workspace.clone(),
                campaign: campaign.clone(),
                leads,
                options,
                now,
            })
            .await?
        {
            DriverReply::Enrolled(ids) => Ok(ids),
            _ => Err(EngineError::SystemDown),
        }
    }

    /// Stops a lead's active sequence.
    pub async fn stop_lead(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        reason: StopReason,
    ) -> Result<(), EngineError> {
        let now = self.now();
        self.driver(DriverMsg::StopLead {
            workspace: workspace.clone(),
            lead: lead.clone(),
            reason,
            now,
        })
        .await?;
        Ok(())
    }

    /// Takes an inbound provider event (reply, acceptance, account status); duplicates of a
    /// delivery change nothing. Calls made at the same time share commits (see `inbound`).
    pub async fn ingest(
        &self,
        workspace: &WorkspaceId,
        event: InboundEvent,
    ) -> Result<IngestOutcome, EngineError> {
        let mut answers = self.ingest_all(workspace, vec![event]).await;
        answers.pop().unwrap_or(Err(EngineError::SystemDown))
    }

    /// Takes inbound provider events in their order (a page of a provider's listing): each gets
    /// the answer, and the log the events, that one [`Engine::ingest`] call per event would have
    /// given, but the replies and acceptances among them share commits. An event refused as
    /// bad input is answered so and the others are still taken.
    pub async fn ingest_all(
        &self,
        workspace: &WorkspaceId,
        events: Vec<InboundEvent>,
    ) -> Vec<Result<IngestOutcome, EngineError>> {
        let mut queued = Vec::with_capacity(events.len());
        let mut answers: Vec<Result<_, EngineError>> = Vec::with_capacity(events.len());
        for event in events {
            answers.push(check_inbound(&event).map(|()| {
                let (reply, answer) = tokio::sync::oneshot::channel();
                let inbound = Inbound {
                    workspace: workspace.clone(),
                    event,
                    now: self.now(),
                };
                queued.push((inbound, reply));
                answer
            }));
        }
        // One queue entry: the events reach the driver together and in their order.
        let handed = queued.is_empty() || self.inner.inbound.send(queued).await.is_ok();
        let mut out = Vec::with_capacity(answers.len());
        for answer in answers {
            out.push(match answer {
                Ok(_) if !handed => Err(EngineError::SystemDown),
                Ok(answer) => answer.await.unwrap_or(Err(EngineError::SystemDown)),
                Err(e) => Err(e),
            });
        }
        out
    }

    /// Marks the conversation with `lead` read (through `account`'s side, when given).
    pub async fn mark_read(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        account: Option<&AccountId>,
    ) -> Result<(), EngineError> {
        let now = self.now();
        self.driver(DriverMsg::MarkRead {
            workspace: workspace.clone(),
            lead: lead.clone(),
            account: account.cloned(),
            now,
        })
        .await?;
        Ok(())
    }

    /// A sender's status, readiness and today's use.
    pub async fn sender_status(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
    ) -> Result<SenderView, EngineError> {
        let now = self.now();
        match self
            .sender(workspace, account, SenderMsg::Snapshot { now })
            .await?
        {
            SenderReply::Snapshot(state, usage) => Ok(SenderView {
                account: account.clone(),
                status: state.status(),
                readiness: state.readiness_at(now),
                limits: state.limits(),
                usage,
                account_state: *state,
            }),
            _ => Err(EngineError::SystemDown),
        }
    }

    /// Every sender of the workspace.
    pub fn senders(&self, workspace: &WorkspaceId) -> Vec<AccountId> {
        self.inner
            .registry
            .all()
            .into_iter()
            .filter(|(_, w)| w == workspace)
            .map(|(a, _)| a)
            .collect()
    }

    /// A lead's sequences in the workspace (oldest first).
    pub async fn lead_sequences(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
    ) -> Result<Vec<(SequenceId, LeadSequence)>, EngineError> {
        match self
            .driver(DriverMsg::Sequences(workspace.clone(), lead.clone()))
            .await?
        {
            DriverReply::Sequences(list) => Ok(list),
            _ => Err(EngineError::SystemDown),
        }
    }

    /// Runs everything due now (the simulator and tests drive the engine this way; in
    /// production the builder's auto-tick does it).
    pub async fn tick(&self) -> Result<TickReport, EngineError> {
        let now = self.now();
        match self.driver(DriverMsg::Tick(now)).await? {
            DriverReply::Tick(r) => Ok(r),
            _ => Err(EngineError::SystemDown),
        }
    }

    /// When anything is next due.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, EngineError> {
        match self.driver(DriverMsg::NextDue).await? {
            DriverReply::NextDue(t) => Ok(t),
            _ => Err(EngineError::SystemDown),
        }
    }

    /// Stops the engine after the work in flight: a message being handled completes (every
    /// actor handles one message to completion), then the actor system stops. With other
    /// processes, its senders' leases are given up first, so they move on at once.
    pub async fn shutdown(self) {
        if self.inner.clustered {
            if let Err(e) = self.driver(DriverMsg::Leave(self.now())).await {
                tracing::warn!(error = %e, "leases not given up: they will lapse");
            }
        }
        self.stop().await;
    }

    /// Stops the engine as a killed process stops: leases are kept until they lapse
    /// (simulations of a crash).
    pub async fn stop_abruptly(self) {
        self.stop().await;
    }

    /// The senders this process runs now: every sender when it runs alone, those whose lease
    /// it holds when it shares the database.
    pub fn running_senders(&self) -> Vec<AccountId> {
        self.inner.registry.running()
    }

    async fn stop(self) {
        // A no-op message queues behind whatever the driver is doing: once it answers, no tick
        // is half-way.
        let _ = self.inner.driver.send(DriverMsg::NextDue).await;
        let system = self
            .inner
            .system
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut system) = system {
            let _ = tokio::task::spawn_blocking(move || system.stop()).await;
        }
    }
}

/// The longest id the engine takes.
pub const MAX_ID_LEN: usize = 200;

/// An inbound event's ids and message id, checked before it is queued.
fn check_inbound(event: &InboundEvent) -> Result<(), EngineError> {
    match event {
        InboundEvent::MessageReceived {
            lead, message_id, ..
        } => {
            check_id("lead", lead.as_str())?;
            // Provider message ids are the provider's: any text but empty or unreadable.
            let m = message_id.as_str();
            if m.trim().is_empty() || m.chars().any(char::is_control) {
                return Err(EngineError::InvalidInput(format!(
                    "message id `{m}` is empty or unreadable"
                )));
            }
            Ok(())
        }
        InboundEvent::InviteAccepted { lead, .. } => check_id("lead", lead.as_str()),
        InboundEvent::AccountStatus { .. } => Ok(()),
    }
}

/// Refuses an id that would be ambiguous or unreadable in the log: empty, too long, with a
/// control character, or with a `/` (sequence ids are `workspace/campaign/lead`).
fn check_id(kind: &str, id: &str) -> Result<(), EngineError> {
    let problem = if id.trim().is_empty() {
        Some("is empty")
    } else if id.chars().count() > MAX_ID_LEN {
        Some("is too long")
    } else if id.contains('/') {
        Some("contains `/`")
    } else if id.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    };
    match problem {
        Some(p) => Err(EngineError::InvalidInput(format!("{kind} id `{id}` {p}"))),
        None => Ok(()),
    }
}

/// SHA-256 of a state token, hex: what the log keeps instead of the token.
pub fn digest(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
