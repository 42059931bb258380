use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

use crate::ids::{AccountId, MailboxId, OwnerId, WorkspaceId};

/// Events of the `Workspace` aggregate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum WorkspaceEvent {
    /// A hosted-auth flow began. Only a digest of its state token is kept: the log never holds a
    /// value that could complete the flow.
    ConnectionRequested {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Digest of the opaque state token.
        state_digest: String,
        /// Who will own the sender.
        owner: OwnerId,
        /// The sender to reconnect, when this is a reconnect flow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reconnect: Option<AccountId>,
        /// After this the token is refused.
        expires_at: DateTime<Utc>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A hosted-auth flow completed; its token is spent.
    ConnectionCompleted {
        /// Digest of the spent token.
        state_digest: String,
        /// The sender it created or reconnected.
        account_id: AccountId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A mailbox was registered for email steps.
    MailboxRegistered {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// The mailbox.
        mailbox_id: MailboxId,
        /// Its sending address.
        address: String,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent for WorkspaceEvent {
    fn event_type(&self) -> String {
        match self {
            WorkspaceEvent::ConnectionRequested { .. } => "ConnectionRequested",
            WorkspaceEvent::ConnectionCompleted { .. } => "ConnectionCompleted",
            WorkspaceEvent::MailboxRegistered { .. } => "MailboxRegistered",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        crate::EVENT_VERSION.to_string()
    }
}

/// Commands to the `Workspace` aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkspaceCommand {
    /// Begin a hosted-auth flow.
    RequestConnection {
        /// The workspace.
        workspace_id: WorkspaceId,
        /// Digest of the token handed to the user.
        state_digest: String,
        /// Owner of the sender to be.
        owner: OwnerId,
        /// The sender to reconnect, if any.
        reconnect: Option<AccountId>,
        /// Expiry of the token.
        expires_at: DateTime<Utc>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Spend a token: refused when unknown, spent or expired.
    CompleteConnection {
        /// Digest of the presented token.
        state_digest: String,
        /// The sender it yields (new id, or the reconnected one — which wins).
        account_id: AccountId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Register a mailbox.
    RegisterMailbox {
        /// The workspace (creates the aggregate on first use).
        workspace_id: WorkspaceId,
        /// The mailbox.
        mailbox_id: MailboxId,
        /// Its address.
        address: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Why the `Workspace` aggregate refused a command. The three token errors are deliberately
/// distinct for the caller's logs but carry no token material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkspaceError {
    /// No flow has this token.
    #[error("unknown connection state")]
    UnknownState,
    /// The token was used already.
    #[error("the connection state was already used")]
    StateUsed,
    /// The token expired.
    #[error("the connection state expired")]
    StateExpired,
    /// A token digest seen before (a replayed request).
    #[error("this connection state exists already")]
    DuplicateState,
    /// The mailbox is registered already.
    #[error("mailbox {0} is registered already")]
    MailboxExists(MailboxId),
    /// Not an email address.
    #[error("`{0}` is not an email address")]
    InvalidAddress(String),
}

/// A hosted-auth flow in progress or done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingConnection {
    /// Owner of the sender to be.
    pub owner: OwnerId,
    /// The sender to reconnect, if any.
    pub reconnect: Option<AccountId>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// The sender it produced, once completed.
    pub completed: Option<AccountId>,
}

/// A workspace's flows and mailboxes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    workspace_id: Option<WorkspaceId>,
    connections: BTreeMap<String, PendingConnection>,
    mailboxes: BTreeMap<MailboxId, String>,
}

impl Workspace {
    /// The flow behind a token digest.
    pub fn connection(&self, state_digest: &str) -> Option<&PendingConnection> {
        self.connections.get(state_digest)
    }

    /// The address of a registered mailbox.
    pub fn mailbox(&self, id: &MailboxId) -> Option<&str> {
        self.mailboxes.get(id).map(String::as_str)
    }

    /// Every registered mailbox.
    pub fn mailboxes(&self) -> impl Iterator<Item = (&MailboxId, &str)> {
        self.mailboxes.iter().map(|(k, v)| (k, v.as_str()))
    }
}

impl Aggregate for Workspace {
    const TYPE: &'static str = "workspace";
    type Command = WorkspaceCommand;
    type Event = WorkspaceEvent;
    type Error = WorkspaceError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            WorkspaceCommand::RequestConnection {
                workspace_id,
                state_digest,
                owner,
                reconnect,
                expires_at,
                at,
            } => {
                if self.connections.contains_key(&state_digest) {
                    return Err(WorkspaceError::DuplicateState);
                }
                let event = WorkspaceEvent::ConnectionRequested {
                    workspace_id,
                    state_digest,
                    owner,
                    reconnect,
                    expires_at,
                    at,
                };
                sink.write(event, self).await;
            }
            WorkspaceCommand::CompleteConnection {
                state_digest,
                account_id,
                at,
            } => {
                let pending = self
                    .connections
                    .get(&state_digest)
                    .ok_or(WorkspaceError::UnknownState)?;
                if pending.completed.is_some() {
                    return Err(WorkspaceError::StateUsed);
                }
                if at >= pending.expires_at {
                    return Err(WorkspaceError::StateExpired);
                }
                let account_id = pending.reconnect.clone().unwrap_or(account_id);
                let event = WorkspaceEvent::ConnectionCompleted {
                    state_digest,
                    account_id,
                    at,
                };
                sink.write(event, self).await;
            }
            WorkspaceCommand::RegisterMailbox {
                workspace_id,
                mailbox_id,
                address,
                at,
            } => {
                if self.mailboxes.contains_key(&mailbox_id) {
                    return Err(WorkspaceError::MailboxExists(mailbox_id));
                }
                let looks_like_email = address
                    .split_once('@')
                    .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.ends_with('.'));
                if !looks_like_email || address.chars().any(char::is_whitespace) {
                    return Err(WorkspaceError::InvalidAddress(address));
                }
                let event = WorkspaceEvent::MailboxRegistered {
                    workspace_id,
                    mailbox_id,
                    address,
                    at,
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            WorkspaceEvent::ConnectionRequested {
                workspace_id,
                state_digest,
                owner,
                reconnect,
                expires_at,
                ..
            } => {
                self.workspace_id = Some(workspace_id);
                self.connections.insert(
                    state_digest,
                    PendingConnection {
                        owner,
                        reconnect,
                        expires_at,
                        completed: None,
                    },
                );
            }
            WorkspaceEvent::ConnectionCompleted {
                state_digest,
                account_id,
                ..
            } => {
                if let Some(p) = self.connections.get_mut(&state_digest) {
                    p.completed = Some(account_id);
                }
            }
            WorkspaceEvent::MailboxRegistered {
                workspace_id,
                mailbox_id,
                address,
                ..
            } => {
                self.workspace_id = Some(workspace_id);
                self.mailboxes.insert(mailbox_id, address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use cqrs_es::test::TestFramework;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn requested(reconnect: Option<AccountId>) -> WorkspaceEvent {
        WorkspaceEvent::ConnectionRequested {
            workspace_id: "ws".into(),
            state_digest: "d1".into(),
            owner: "alice".into(),
            reconnect,
            expires_at: at() + Duration::minutes(15),
            at: at(),
        }
    }

    fn complete(minutes_later: i64) -> WorkspaceCommand {
        WorkspaceCommand::CompleteConnection {
            state_digest: "d1".into(),
            account_id: "acc-new".into(),
            at: at() + Duration::minutes(minutes_later),
        }
    }

    #[test]
    fn a_requested_connection_completes_once() {
        TestFramework::<Workspace>::with(())
            .given(vec![requested(None)])
            .when(complete(5))
            .then_expect_events(vec![WorkspaceEvent::ConnectionCompleted {
                state_digest: "d1".into(),
                account_id: "acc-new".into(),
                at: at() + Duration::minutes(5),
            }]);
    }

    #[test]
    fn a_spent_token_is_refused() {
        TestFramework::<Workspace>::with(())
            .given(vec![
                requested(None),
                WorkspaceEvent::ConnectionCompleted {
                    state_digest: "d1".into(),
                    account_id: "acc-new".into(),
                    at: at(),
                },
            ])
            .when(complete(6))
            .then_expect_error(WorkspaceError::StateUsed);
    }

    #[test]
    fn an_expired_or_unknown_token_is_refused() {
        TestFramework::<Workspace>::with(())
            .given(vec![requested(None)])
            .when(complete(15))
            .then_expect_error(WorkspaceError::StateExpired);
        TestFramework::<Workspace>::with(())
            .given_no_previous_events()
            .when(complete(1))
            .then_expect_error(WorkspaceError::UnknownState);
    }

    #[test]
    fn a_reconnect_flow_yields_the_reconnected_sender() {
        TestFramework::<Workspace>::with(())
            .given(vec![requested(Some("acc-old".into()))])
            .when(complete(1))
            .then_expect_events(vec![WorkspaceEvent::ConnectionCompleted {
                state_digest: "d1".into(),
                account_id: "acc-old".into(),
                at: at() + Duration::minutes(1),
            }]);
    }

    #[test]
    fn mailboxes_register_once_with_a_valid_address() {
        let register = |address: &str| WorkspaceCommand::RegisterMailbox {
            workspace_id: "ws".into(),
            mailbox_id: "mb".into(),
            address: address.into(),
            at: at(),
        };
        let registered = WorkspaceEvent::MailboxRegistered {
            workspace_id: "ws".into(),
            mailbox_id: "mb".into(),
            address: "sales@acme.io".into(),
            at: at(),
        };
        TestFramework::<Workspace>::with(())
            .given_no_previous_events()
            .when(register("sales@acme.io"))
            .then_expect_events(vec![registered.clone()]);
        TestFramework::<Workspace>::with(())
            .given(vec![registered])
            .when(register("sales@acme.io"))
            .then_expect_error(WorkspaceError::MailboxExists("mb".into()));
        TestFramework::<Workspace>::with(())
            .given_no_previous_events()
            .when(register("not an address"))
            .then_expect_error(WorkspaceError::InvalidAddress("not an address".into()));
    }
}
