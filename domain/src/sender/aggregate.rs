//! The `SenderAccount` aggregate: decides on commands, folds events, answers the derived reads.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::cooldown::pause_for;
use super::warning::MAX_RECENT_WARNINGS;
use super::{
    Pause, PauseReason, Readiness, SenderAccountCommand, SenderAccountError, SenderAccountEvent,
    SenderStatus, Warning,
};
use crate::ids::{AccountId, OwnerId, ProviderAccountId, WorkspaceId};
use crate::values::{Limits, Tier, WorkingHours};

/// What `AccountConnected` established, with the limits kept current by `LimitsChanged`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Workspace that owns the sender.
    pub workspace_id: WorkspaceId,
    /// Our id of the sender.
    pub account_id: AccountId,
    /// The provider's id of the account.
    pub provider_account_id: ProviderAccountId,
    /// Owner of the sender.
    pub owner: OwnerId,
    /// LinkedIn subscription.
    pub tier: Tier,
    /// Limits in force.
    pub limits: Limits,
    /// IANA time zone of the working hours.
    pub timezone: Tz,
    /// Local working hours.
    pub working_hours: WorkingHours,
    /// Whether the limits ramp up from `connected_at`.
    pub warm_up: bool,
    /// When the account was connected.
    pub connected_at: DateTime<Utc>,
}

/// A connected LinkedIn account used as a sender: its connection, limits, warnings and pauses.
///
/// Stored under the aggregate type `sender_account`, one instance per [`AccountId`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SenderAccount {
    connection: Option<Connection>,
    pause: Option<Pause>,
    /// The pause a session expiry replaced: a reconnect fixes the session, not what else was
    /// wrong, so this one is put back on reconnect if it still holds.
    paused_under_session: Option<Pause>,
    warnings: Vec<Warning>,
    disconnected_at: Option<DateTime<Utc>>,
    /// When the session was last (re)established: a provider status older than this is stale.
    #[serde(default)]
    session_since: Option<DateTime<Utc>>,
}

impl Aggregate for SenderAccount {
    const TYPE: &'static str = "sender_account";
    type Command = SenderAccountCommand;
    type Event = SenderAccountEvent;
    type Error = SenderAccountError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            SenderAccountEvent::AccountConnected {
                workspace_id,
                account_id,
                provider_account_id,
                owner,
                tier,
                limits,
                timezone,
                working_hours,
                warm_up,
                at,
            } => {
                self.connection = Some(Connection {
                    workspace_id,
                    account_id,
                    provider_account_id,
                    owner,
                    tier,
                    limits,
                    timezone,
                    working_hours,
                    warm_up,
                    connected_at: at,
                });
                self.session_since = Some(at);
            }
            SenderAccountEvent::LimitsChanged { limits, .. } => {
                if let Some(connection) = self.connection.as_mut() {
                    connection.limits = limits;
                }
            }
            SenderAccountEvent::WarningReceived { kind, detail, at } => {
                self.warnings.push(Warning { kind, detail, at });
                if self.warnings.len() > MAX_RECENT_WARNINGS {
                    let excess = self.warnings.len() - MAX_RECENT_WARNINGS;
                    self.warnings.drain(..excess);
                }
            }
            SenderAccountEvent::SendingPaused { reason, until, at } => {
                if reason == PauseReason::SessionExpired {
                    match self.pause {
                        Some(current) if current.reason == PauseReason::SessionExpired => {}
                        other => self.paused_under_session = other,
                    }
                } else {
                    self.paused_under_session = None;
                }
                self.pause = Some(Pause {
                    reason,
                    until,
                    since: at,
                });
            }
            SenderAccountEvent::SendingResumed { .. } => {
                self.pause = None;
                self.paused_under_session = None;
            }
            // The pause it ends is lifted by the `SendingResumed` or `SendingPaused` recorded with it.
            SenderAccountEvent::AccountReconnected { at } => self.session_since = Some(at),
            SenderAccountEvent::AccountDisconnected { at } => {
                self.disconnected_at = Some(at);
            }
        }
    }
}

impl SenderAccount {
    /// When the session was last established (connect or reconnect): a provider's report of an
    /// expired session observed before this instant is about the old session.
    pub fn session_since(&self) -> Option<DateTime<Utc>> {
        self.session_since
    }

    /// Folds events into the state, as the store does; for projections and the runtime.
    pub fn from_events(events: impl IntoIterator<Item = SenderAccountEvent>) -> Self {
        let mut account = Self::default();
        for event in events {
            account.apply(event);
        }
        account
    }

    /// The events a command calls for, or why it is refused; pure, so `handle` only writes them.
    fn decide(
        &self,
        command: SenderAccountCommand,
    ) -> Result<Vec<SenderAccountEvent>, SenderAccountError> {
        use SenderAccountCommand as C;
        use SenderAccountEvent as E;

        if self.disconnected_at.is_some() {
            return Err(SenderAccountError::Disconnected);
        }
        if let C::Connect {
            workspace_id,
            account_id,
            provider_account_id,
            owner,
            tier,
            limits,
            timezone,
            working_hours,
            warm_up,
            at,
        } = command
        {
            if self.connection.is_some() {
                return Err(SenderAccountError::AlreadyConnected);
            }
            limits.validate()?;
            return Ok(vec![E::AccountConnected {
                workspace_id,
                account_id,
                provider_account_id,
                owner,
                tier,
                limits,
                timezone,
                working_hours,
                warm_up,
                at,
            }]);
        }
        if self.connection.is_none() {
            return Err(SenderAccountError::NotConnected);
        }

        match command {
            // Answered above, before the connection check; kept so the match stays exhaustive.
            C::Connect { .. } => Err(SenderAccountError::AlreadyConnected),
            C::ChangeLimits { limits, at } => {
                limits.validate()?;
                Ok(vec![E::LimitsChanged { limits, at }])
            }
            C::RecordWarning { kind, detail, at } => {
                let mut events = vec![E::WarningReceived { kind, detail, at }];
                let (reason, until) = pause_for(kind, at);
                if self.would_strengthen_pause(reason, until) {
                    events.push(E::SendingPaused { reason, until, at });
                }
                Ok(events)
            }
            C::Pause { reason, until, at } => {
                if self.would_strengthen_pause(reason, until) {
                    Ok(vec![E::SendingPaused { reason, until, at }])
                } else {
                    Ok(vec![])
                }
            }
            C::Resume { at } => match self.pause {
                None => Err(SenderAccountError::NotPaused),
                Some(pause) if pause.reason == PauseReason::SessionExpired => {
                    Err(SenderAccountError::NeedsReconnect)
                }
                Some(_) => Ok(vec![E::SendingResumed { at }]),
            },
            C::ResumeAfterCooldown { at } => match self.pause {
                None => Err(SenderAccountError::NotPaused),
                Some(Pause {
                    until: Some(until), ..
                }) if until <= at => Ok(vec![E::SendingResumed { at }]),
                Some(_) => Err(SenderAccountError::CooldownNotOver),
            },
            C::Reconnect { at } => match self.pause {
                Some(pause) if pause.reason == PauseReason::SessionExpired => {
                    let after = match self.paused_under_session {
                        Some(under) if under.holds_at(at) => E::SendingPaused {
                            reason: under.reason,
                            until: under.until,
                            at,
                        },
                        _ => E::SendingResumed { at },
                    };
                    Ok(vec![E::AccountReconnected { at }, after])
                }
                _ => Err(SenderAccountError::ReconnectNotNeeded),
            },
            C::Disconnect { at } => Ok(vec![E::AccountDisconnected { at }]),
        }
    }

    /// Whether a new pause would be stronger than the one in force (a pause never gets weaker).
    fn would_strengthen_pause(&self, reason: PauseReason, until: Option<DateTime<Utc>>) -> bool {
        match self.pause {
            None => true,
            Some(current) => current.is_superseded_by(reason, until),
        }
    }

    /// The recorded status (see [`SenderStatus`] on timed pauses that have ended).
    pub fn status(&self) -> SenderStatus {
        if self.disconnected_at.is_some() {
            return SenderStatus::Disconnected;
        }
        if self.connection.is_none() {
            return SenderStatus::NotConnected;
        }
        match self.pause {
            None => SenderStatus::Connected,
            Some(pause) => match pause.reason {
                PauseReason::Restricted => SenderStatus::Restricted,
                PauseReason::SessionExpired => SenderStatus::NeedsReconnect,
                reason => SenderStatus::Paused {
                    reason,
                    until: pause.until,
                },
            },
        }
    }

    /// Whether a pause holds at `now` for sending decisions: a timed pause whose end has passed
    /// does not, even before its `SendingResumed` is recorded, so the runtime never waits on the
    /// bookkeeping to act again.
    pub fn is_paused_at(&self, now: DateTime<Utc>) -> bool {
        self.pause.is_some_and(|pause| pause.holds_at(now))
    }

    /// Which actions the recorded state allows: connected, not disconnected, no pause recorded, and
    /// a limit above zero (invites need both the daily and the weekly one).
    pub fn readiness(&self) -> Readiness {
        self.readiness_if(self.pause.is_none())
    }

    /// Like [`Self::readiness`], but a timed pause whose end has passed at `now` no longer blocks.
    pub fn readiness_at(&self, now: DateTime<Utc>) -> Readiness {
        self.readiness_if(!self.is_paused_at(now))
    }

    fn readiness_if(&self, not_paused: bool) -> Readiness {
        match &self.connection {
            Some(connection) if not_paused && self.disconnected_at.is_none() => Readiness {
                invite: connection.limits.daily_invites > 0 && connection.limits.weekly_invites > 0,
                message: connection.limits.daily_messages > 0,
            },
            _ => Readiness::default(),
        }
    }

    /// Everything `AccountConnected` established, once connected.
    pub fn connection(&self) -> Option<&Connection> {
        self.connection.as_ref()
    }

    /// The workspace that owns the sender, once connected.
    pub fn workspace_id(&self) -> Option<&WorkspaceId> {
        self.connection.as_ref().map(|c| &c.workspace_id)
    }

    /// Our id of the sender, once connected.
    pub fn account_id(&self) -> Option<&AccountId> {
        self.connection.as_ref().map(|c| &c.account_id)
    }

    /// The provider's id of the account, once connected.
    pub fn provider_account_id(&self) -> Option<&ProviderAccountId> {
        self.connection.as_ref().map(|c| &c.provider_account_id)
    }

    /// The owner of the sender, once connected.
    pub fn owner(&self) -> Option<&OwnerId> {
        self.connection.as_ref().map(|c| &c.owner)
    }

    /// The LinkedIn subscription, once connected.
    pub fn tier(&self) -> Option<Tier> {
        self.connection.as_ref().map(|c| c.tier)
    }

    /// The limits in force, once connected.
    pub fn limits(&self) -> Option<Limits> {
        self.connection.as_ref().map(|c| c.limits)
    }

    /// The time zone of the working hours, once connected.
    pub fn timezone(&self) -> Option<Tz> {
        self.connection.as_ref().map(|c| c.timezone)
    }

    /// The local working hours, once connected.
    pub fn working_hours(&self) -> Option<WorkingHours> {
        self.connection.as_ref().map(|c| c.working_hours)
    }

    /// Whether the limits ramp up from the connection, once connected.
    pub fn warm_up(&self) -> Option<bool> {
        self.connection.as_ref().map(|c| c.warm_up)
    }

    /// When the account was connected.
    pub fn connected_at(&self) -> Option<DateTime<Utc>> {
        self.connection.as_ref().map(|c| c.connected_at)
    }

    /// The pause recorded, if any (it may have ended by the clock; see [`Self::is_paused_at`]).
    pub fn pause(&self) -> Option<&Pause> {
        self.pause.as_ref()
    }

    /// When the account was disconnected, if it was.
    pub fn disconnected_at(&self) -> Option<DateTime<Utc>> {
        self.disconnected_at
    }

    /// The last [`MAX_RECENT_WARNINGS`] warnings, oldest first.
    pub fn recent_warnings(&self) -> &[Warning] {
        &self.warnings
    }
}
