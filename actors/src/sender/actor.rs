//! The actix shell around a [`SenderDesk`]: messages in, one at a time, each to completion
//! (`AtomicResponse`), so no two quota decisions ever interleave.

use actix::prelude::*;
use chrono::{DateTime, Utc};
use plera_domain::quota::Usage;
use plera_domain::sender::{SenderAccount, SenderAccountCommand, SenderAccountEvent, WarningKind};
use plera_domain::values::Action;

use super::desk::{SenderDesk, SlotAnswer, SlotCandidate, StepReport};
use crate::engine::EngineError;

/// The actor owning one sender.
pub struct SenderActor {
    desk: Option<Box<SenderDesk>>,
}

impl SenderActor {
    /// An actor around a loaded desk.
    pub fn new(desk: SenderDesk) -> Self {
        Self {
            desk: Some(Box::new(desk)),
        }
    }
}

impl Actor for SenderActor {
    type Context = Context<Self>;
}

/// The messages a sender actor takes.
#[derive(Clone, Debug)]
pub enum SenderMsg {
    /// Offer waiting leads for slots.
    Offer {
        /// Now.
        now: DateTime<Utc>,
        /// The waiting leads.
        candidates: Vec<SlotCandidate>,
    },
    /// Give back an unused slot.
    Release {
        /// Its action.
        action: Action,
        /// Its instant.
        at: DateTime<Utc>,
    },
    /// A step's result, for the warning watch.
    Report {
        /// What happened.
        report: StepReport,
        /// When.
        at: DateTime<Utc>,
    },
    /// A warning from the provider (account status notification).
    Warning {
        /// The kind.
        kind: WarningKind,
        /// When.
        at: DateTime<Utc>,
        /// When the provider observed it: an expired session reported from before the latest
        /// reconnect is about the old session and is ignored.
        observed_at: DateTime<Utc>,
    },
    /// A command from the API (limits, pause, resume, reconnect, disconnect).
    Command(SenderAccountCommand),
    /// Read the sender's state.
    Snapshot {
        /// Now, for today's usage.
        now: DateTime<Utc>,
    },
    /// Another process appended to this sender up to `sequence`: read it if not seen yet.
    CatchUp {
        /// The stored sequence seen in the log.
        sequence: u64,
        /// Now.
        now: DateTime<Utc>,
    },
    /// Stop this actor (its state is all in the log: the next use re-spawns it from there).
    Retire {
        /// Now.
        now: DateTime<Utc>,
    },
}

impl SenderMsg {
    /// The instant the message is about (for re-spawning a sender at the right time).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            SenderMsg::Offer { now, .. }
            | SenderMsg::Snapshot { now }
            | SenderMsg::Retire { now } => *now,
            SenderMsg::Release { at, .. }
            | SenderMsg::Report { at, .. }
            | SenderMsg::Warning { at, .. } => *at,
            SenderMsg::Command(cmd) => command_at(cmd),
            SenderMsg::CatchUp { now, .. } => *now,
        }
    }
}

fn command_at(cmd: &SenderAccountCommand) -> DateTime<Utc> {
    use SenderAccountCommand::*;
    match cmd {
        Connect { at, .. }
        | ChangeLimits { at, .. }
        | RecordWarning { at, .. }
        | Pause { at, .. }
        | Resume { at }
        | ResumeAfterCooldown { at }
        | Reconnect { at }
        | Disconnect { at } => *at,
    }
}

/// The answers of a sender actor.
#[derive(Debug)]
pub enum SenderReply {
    /// To `Offer`.
    Slots(SlotAnswer),
    /// To `Command`.
    Events(Vec<SenderAccountEvent>),
    /// To `Snapshot`.
    Snapshot(Box<SenderAccount>, Option<Usage>),
    /// To the rest.
    Done,
}

impl Message for SenderMsg {
    type Result = Result<SenderReply, EngineError>;
}

impl Handler<SenderMsg> for SenderActor {
    type Result = AtomicResponse<Self, Result<SenderReply, EngineError>>;

    fn handle(&mut self, msg: SenderMsg, ctx: &mut Self::Context) -> Self::Result {
        if let SenderMsg::Retire { .. } = msg {
            ctx.stop();
            return AtomicResponse::new(Box::pin(actix::fut::ready(Ok(SenderReply::Done))));
        }
        // The desk moves into the future and back: while it is out, AtomicResponse guarantees no
        // other message of this actor runs, so nobody can observe it missing.
        let Some(mut desk) = self.desk.take() else {
            return AtomicResponse::new(Box::pin(actix::fut::ready(Err(EngineError::SystemDown))));
        };
        let work = async move {
            let result = serve(&mut desk, msg).await;
            (desk, result)
        };
        AtomicResponse::new(Box::pin(actix::fut::wrap_future::<_, Self>(work).map(
            |(desk, result), actor, _ctx| {
                actor.desk = Some(desk);
                result
            },
        )))
    }
}

/// Handles one message on a desk: the actor's work, and the driver's for a sender that another
/// process owns (a desk loaded for the one command, then dropped).
pub(crate) async fn serve(
    desk: &mut SenderDesk,
    msg: SenderMsg,
) -> Result<SenderReply, EngineError> {
    match msg {
        SenderMsg::Offer { now, candidates } => {
            desk.offer(now, candidates).await.map(SenderReply::Slots)
        }
        SenderMsg::Release { action, at } => {
            desk.release(action, at);
            Ok(SenderReply::Done)
        }
        SenderMsg::Report { report, at } => {
            desk.report(report, at).await.map(|_| SenderReply::Done)
        }
        SenderMsg::Warning {
            kind,
            at,
            observed_at,
        } => {
            let stale = kind == WarningKind::SessionExpired
                && desk
                    .account()
                    .session_since()
                    .is_some_and(|since| since > observed_at);
            if stale {
                Ok(SenderReply::Done)
            } else {
                desk.record_warning(kind, None, at)
                    .await
                    .map(|_| SenderReply::Done)
            }
        }
        SenderMsg::Command(cmd) => desk.execute(cmd).await.map(SenderReply::Events),
        SenderMsg::Snapshot { now } => Ok(SenderReply::Snapshot(
            Box::new(desk.account().clone()),
            desk.usage(now),
        )),
        SenderMsg::Retire { .. } => Ok(SenderReply::Done),
        SenderMsg::CatchUp { sequence, .. } => desk
            .catch_up(sequence)
            .await
            .map(|_| SenderReply::Done)
            .map_err(EngineError::Store),
    }
}
