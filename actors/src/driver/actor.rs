//! The actix shell around the driver's [`Book`]: one message at a time, each to completion, so a
//! reply and a tick never interleave — a reply is either recorded before a step's `StepStarted`
//! (and the step is refused) or after it.

use actix::prelude::*;
use chrono::{DateTime, Utc};
use plera_domain::campaign::CampaignCommand;
use plera_domain::ids::{AccountId, CampaignId, LeadId, SequenceId, WorkspaceId};
use plera_domain::lead::{LeadSequence, StopReason};
use plera_domain::workspace::{WorkspaceCommand, WorkspaceEvent};

use super::book::{Book, EnrollOptions, LeadSpec};
use super::inbound::{in_runs, Inbound, InboundPart, IngestOutcome};
use super::steps::TickReport;
use crate::engine::EngineError;
use crate::store::NewEvent;

/// The actor owning every sequence, campaign and workspace of the process.
pub struct DriverActor {
    book: Option<Box<Book>>,
}

impl DriverActor {
    /// An actor around a loaded book.
    pub fn new(book: Book) -> Self {
        Self {
            book: Some(Box::new(book)),
        }
    }
}

impl Actor for DriverActor {
    type Context = Context<Self>;
}

/// Messages to the driver.
#[derive(Clone)]
pub enum DriverMsg {
    /// Run what is due.
    Tick(DateTime<Utc>),
    /// When is anything due next?
    NextDue,
    /// Enroll leads.
    Enroll {
        /// Workspace.
        workspace: WorkspaceId,
        /// Campaign.
        campaign: CampaignId,
        /// Leads.
        leads: Vec<LeadSpec>,
        /// Options.
        options: EnrollOptions,
        /// Now.
        now: DateTime<Utc>,
    },
    /// Create a campaign.
    CreateCampaign(CampaignCommand),
    /// A workspace command, committed with `extra` events.
    Workspace {
        /// Workspace.
        workspace: WorkspaceId,
        /// Command.
        command: WorkspaceCommand,
        /// Events that must commit with it.
        extra: Vec<NewEvent>,
    },
    /// Which workspace started the flow with this token digest, and the flow itself?
    StateOwner(String),
    /// Stop a lead.
    StopLead {
        /// Workspace.
        workspace: WorkspaceId,
        /// Lead.
        lead: LeadId,
        /// Why.
        reason: StopReason,
        /// Now.
        now: DateTime<Utc>,
    },
    /// Inbound provider event.
    Ingest(Inbound),
    /// Inbound provider events queued together, handled in their order (see
    /// `ingest_all` in this module).
    IngestAll(Vec<Inbound>),
    /// Mark a lead's conversation read.
    MarkRead {
        /// Workspace.
        workspace: WorkspaceId,
        /// Lead.
        lead: LeadId,
        /// The sender's side, if any.
        account: Option<AccountId>,
        /// Now.
        now: DateTime<Utc>,
    },
    /// A sender just connected: start its actor from the log and let its leads ask.
    StartSender(AccountId, DateTime<Utc>),
    /// A sender may grant again (resumed or reconnected).
    WakeSender(AccountId, DateTime<Utc>),
    /// A command for a sender, serialised with the ticks; wakes its waiting leads after.
    SenderCommand {
        /// The sender.
        account: AccountId,
        /// The command.
        command: plera_domain::sender::SenderAccountCommand,
        /// Now.
        now: DateTime<Utc>,
    },
    /// Read a lead's sequences.
    Sequences(WorkspaceId, LeadId),
    /// Read a workspace's mailbox address.
    Mailbox(WorkspaceId, plera_domain::ids::MailboxId),
    /// Ask a sender, wherever it runs (another process's: served from the log).
    AskSender(AccountId, crate::sender::SenderMsg),
    /// Give up every lease (the process is shutting down).
    Leave(DateTime<Utc>),
}

/// Answers of the driver.
pub enum DriverReply {
    /// To `Tick`.
    Tick(TickReport),
    /// To `NextDue`.
    NextDue(Option<DateTime<Utc>>),
    /// To `Enroll`.
    Enrolled(Vec<SequenceId>),
    /// To `CreateCampaign`.
    Campaign(CampaignId),
    /// To `Workspace`.
    WorkspaceEvents(Vec<WorkspaceEvent>),
    /// To `StateOwner`.
    Owner(Option<(WorkspaceId, plera_domain::workspace::PendingConnection)>),
    /// To `Ingest`.
    Ingested(IngestOutcome),
    /// To `IngestAll`: one answer per event, in their order.
    IngestedAll(Vec<Result<IngestOutcome, EngineError>>),
    /// To `Sequences`.
    Sequences(Vec<(SequenceId, LeadSequence)>),
    /// To `Mailbox`.
    Mailbox(Option<String>),
    /// To `AskSender`.
    Sender(crate::sender::SenderReply),
    /// To the rest.
    Done,
}

impl Message for DriverMsg {
    type Result = Result<DriverReply, EngineError>;
}

impl Handler<DriverMsg> for DriverActor {
    type Result = AtomicResponse<Self, Result<DriverReply, EngineError>>;

    fn handle(&mut self, msg: DriverMsg, _ctx: &mut Self::Context) -> Self::Result {
        let Some(mut book) = self.book.take() else {
            return AtomicResponse::new(Box::pin(actix::fut::ready(Err(EngineError::SystemDown))));
        };
        let work = async move {
            // A tick reads the log itself; when something is due is this process's own answer;
            // an inbound batch reads it before each of its parts.
            let shared = !matches!(
                msg,
                DriverMsg::Tick(_) | DriverMsg::NextDue | DriverMsg::IngestAll(_)
            );
            let result = match msg {
                msg if book.clustered() && shared => run_shared(&mut book, msg).await,
                msg => run(&mut book, msg).await,
            };
            (book, result)
        };
        AtomicResponse::new(Box::pin(actix::fut::wrap_future::<_, Self>(work).map(
            |(book, result), actor, _ctx| {
                actor.book = Some(book);
                result
            },
        )))
    }
}

/// Runs one message on the book.
async fn run(book: &mut Book, msg: DriverMsg) -> Result<DriverReply, EngineError> {
    match msg {
        DriverMsg::Tick(now) => book.tick(now).await.map(DriverReply::Tick),
        DriverMsg::NextDue => Ok(DriverReply::NextDue(book.next_due())),
        DriverMsg::Enroll {
            workspace,
            campaign,
            leads,
            options,
            now,
        } => book
            .enroll(&workspace, &campaign, leads, options, now)
            .await
            .map(DriverReply::Enrolled),
        DriverMsg::CreateCampaign(cmd) => {
            book.create_campaign(cmd).await.map(DriverReply::Campaign)
        }
        DriverMsg::Workspace {
            workspace,
            command,
            extra,
        } => book
            .workspace_command(&workspace, command, extra)
            .await
            .map(DriverReply::WorkspaceEvents),
        DriverMsg::StateOwner(digest) => {
            let owner = book.state_owner.get(&digest).cloned().and_then(|ws| {
                let pending = book.workspaces.get(&ws)?.state.connection(&digest)?.clone();
                Some((ws, pending))
            });
            Ok(DriverReply::Owner(owner))
        }
        DriverMsg::StopLead {
            workspace,
            lead,
            reason,
            now,
        } => book
            .stop_lead(&workspace, &lead, reason, now)
            .await
            .map(|_| DriverReply::Done),
        DriverMsg::Ingest(inbound) => book.ingest(inbound).await.map(DriverReply::Ingested),
        // Boxed: it runs its events through `run` again.
        DriverMsg::IngestAll(events) => Ok(DriverReply::IngestedAll(
            Box::pin(ingest_all(book, events)).await,
        )),
        DriverMsg::MarkRead {
            workspace,
            lead,
            account,
            now,
        } => book
            .mark_read(&workspace, &lead, account, now)
            .await
            .map(|_| DriverReply::Done),
        DriverMsg::SenderCommand {
            account,
            command,
            now,
        } => {
            let reply = book
                .ask_sender(&account, crate::sender::SenderMsg::Command(command))
                .await;
            book.wake_sender(&account, now);
            reply.map(|_| DriverReply::Done)
        }
        DriverMsg::StartSender(account, now) => {
            book.start_sender(&account, now).await?;
            book.wake_sender(&account, now);
            Ok(DriverReply::Done)
        }
        DriverMsg::WakeSender(account, now) => {
            book.wake_sender(&account, now);
            Ok(DriverReply::Done)
        }
        DriverMsg::Sequences(workspace, lead) => {
            let list = book
                .by_lead
                .get(&(workspace, lead))
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| {
                            book.sequences
                                .get(id)
                                .map(|t| (id.clone(), t.state.clone()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(DriverReply::Sequences(list))
        }
        DriverMsg::AskSender(account, msg) => book
            .ask_sender(&account, msg)
            .await
            .map(DriverReply::Sender),
        DriverMsg::Leave(now) => book.leave(now).await.map(|_| DriverReply::Done),
        DriverMsg::Mailbox(workspace, mailbox) => Ok(DriverReply::Mailbox(
            book.mailbox_address(&workspace, &mailbox),
        )),
    }
}

/// The outcome of an `Ingest` answer.
fn ingested(reply: DriverReply) -> Result<IngestOutcome, EngineError> {
    match reply {
        DriverReply::Ingested(outcome) => Ok(outcome),
        _ => Err(EngineError::SystemDown),
    }
}

/// Inbound events in their order, with one append for every run of replies and acceptances
/// (group commit): each is decided on the state the ones before it left, so every answer and
/// the log are what one call per event would have given. Account statuses go to their senders
/// in their turn, after the run before them is committed. Should a run's append fail, its
/// events are taken again one by one, so that each caller gets its own answer.
///
/// When other processes share the database, each run is decided on what all of them wrote so
/// far (read just before), and the events taken one by one are read and retried as
/// [`run_shared`] does: a run whose append conflicted (another process wrote to one of its
/// sequences meanwhile, nothing was written), an account status, a run of one.
async fn ingest_all(
    book: &mut Book,
    events: Vec<Inbound>,
) -> Vec<Result<IngestOutcome, EngineError>> {
    let clustered = book.clustered();
    let mut answers = Vec::with_capacity(events.len());
    for part in in_runs(events) {
        let alone = match part {
            InboundPart::Run(run) if !clustered || run.len() > 1 => {
                let together = match book.sync(run[0].now).await {
                    Ok(()) => book.ingest_together(&run).await,
                    Err(_) => None,
                };
                match together {
                    Some(done) => {
                        answers.extend(done);
                        continue;
                    }
                    None => run,
                }
            }
            InboundPart::Run(run) => run,
            InboundPart::Alone(inbound) => vec![inbound],
        };
        for inbound in alone {
            let one = DriverMsg::Ingest(inbound);
            let answer = if clustered {
                run_shared(book, one).await
            } else {
                run(book, one).await
            };
            answers.push(answer.and_then(ingested));
        }
    }
    answers
}

/// How many times a message is decided again after another process wrote first.
const CONFLICT_RETRIES: usize = 3;

/// Runs a message when other processes share the database: read what they wrote first, and on a
/// conflict (one of them wrote to the same aggregate meanwhile) read again and decide again.
async fn run_shared(book: &mut Book, msg: DriverMsg) -> Result<DriverReply, EngineError> {
    let now = msg.now().unwrap_or_else(|| book.last_seen());
    let mut last = None;
    for _ in 0..CONFLICT_RETRIES {
        book.sync(now).await?;
        match run(book, msg.clone()).await {
            Err(e @ EngineError::Store(crate::store::StoreError::Conflict { .. })) => {
                last = Some(e);
            }
            other => return other,
        }
    }
    Err(last.unwrap_or(EngineError::SystemDown))
}

impl DriverMsg {
    /// The instant the message is about, when it says.
    fn now(&self) -> Option<DateTime<Utc>> {
        match self {
            DriverMsg::Tick(now)
            | DriverMsg::Enroll { now, .. }
            | DriverMsg::StopLead { now, .. }
            | DriverMsg::MarkRead { now, .. }
            | DriverMsg::WakeSender(_, now)
            | DriverMsg::StartSender(_, now)
            | DriverMsg::SenderCommand { now, .. }
            | DriverMsg::Leave(now) => Some(*now),
            DriverMsg::AskSender(_, msg) => Some(msg.at()),
            DriverMsg::Ingest(inbound) => Some(inbound.now),
            DriverMsg::IngestAll(events) => events.first().map(|inbound| inbound.now),
            DriverMsg::NextDue
            | DriverMsg::CreateCampaign(_)
            | DriverMsg::Workspace { .. }
            | DriverMsg::StateOwner(_)
            | DriverMsg::Sequences(..)
            | DriverMsg::Mailbox(..) => None,
        }
    }
}
