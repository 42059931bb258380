//! Which of our senders a provider account id stands for. The provider speaks only its own
//! account ids; inbound notifications, the poller and reconciliation need our workspace and
//! sender. `LogAccounts` reads the answer from the event log (`AccountConnected` carries all
//! three), so it needs no table of its own and survives restarts.

use async_trait::async_trait;
use plera_actors::store::{EventLog, StoredEvent};
use plera_domain::ids::{AccountId, OwnerId, ProviderAccountId, WorkspaceId};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use tokio::sync::Mutex;

/// A sender as the provider's side knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownAccount {
    /// The workspace owning the sender.
    pub workspace: WorkspaceId,
    /// Our id of the sender.
    pub account: AccountId,
    /// The provider's id of its LinkedIn account.
    pub provider: ProviderAccountId,
    /// Who connected it, when known (the log knows; a hand-made table may not).
    pub owner: Option<OwnerId>,
    /// False once disconnected: still resolved (late notifications), no longer polled.
    pub active: bool,
}

/// Answers "whose is this provider account?".
#[async_trait]
pub trait AccountDirectory: Send + Sync {
    /// Every sender known, in a stable order.
    async fn accounts(&self) -> Result<Vec<KnownAccount>, String>;

    /// The sender behind a provider account id.
    async fn resolve(&self, provider: &ProviderAccountId) -> Result<Option<KnownAccount>, String> {
        Ok(self
            .accounts()
            .await?
            .into_iter()
            .find(|a| &a.provider == provider))
    }

    /// The senders of a workspace.
    async fn of_workspace(&self, workspace: &WorkspaceId) -> Result<Vec<KnownAccount>, String> {
        Ok(self
            .accounts()
            .await?
            .into_iter()
            .filter(|a| &a.workspace == workspace)
            .collect())
    }
}

/// A fixed table (tests, and deployments that configure senders by hand).
#[derive(Default)]
pub struct MemoryAccounts {
    accounts: RwLock<BTreeMap<ProviderAccountId, KnownAccount>>,
}

impl MemoryAccounts {
    /// Adds or replaces the sender behind `provider`.
    pub fn insert(&self, workspace: WorkspaceId, account: AccountId, provider: ProviderAccountId) {
        self.accounts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                provider.clone(),
                KnownAccount {
                    workspace,
                    account,
                    provider,
                    owner: None,
                    active: true,
                },
            );
    }
}

#[async_trait]
impl AccountDirectory for MemoryAccounts {
    async fn accounts(&self) -> Result<Vec<KnownAccount>, String> {
        Ok(self
            .accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect())
    }
}

/// The senders folded from the event log, read on from where the last look stopped.
pub struct LogAccounts {
    log: Arc<dyn EventLog>,
    seen: Mutex<Folded>,
}

#[derive(Default)]
struct Folded {
    position: u64,
    by_account: BTreeMap<AccountId, KnownAccount>,
}

/// Events read per round trip to the store.
const BATCH: usize = 1000;

impl LogAccounts {
    /// A directory over `log`.
    pub fn new(log: Arc<dyn EventLog>) -> Self {
        Self {
            log,
            seen: Mutex::new(Folded::default()),
        }
    }
}

#[async_trait]
impl AccountDirectory for LogAccounts {
    async fn accounts(&self) -> Result<Vec<KnownAccount>, String> {
        let mut folded = self.seen.lock().await;
        loop {
            let events = self
                .log
                .read_after(folded.position, BATCH)
                .await
                .map_err(|e| e.to_string())?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            for event in events
                .iter()
                .filter(|e| e.aggregate_type == "sender_account")
            {
                fold(&mut folded.by_account, event);
            }
            folded.position = last;
        }
        Ok(folded.by_account.values().cloned().collect())
    }
}

fn fold(by_account: &mut BTreeMap<AccountId, KnownAccount>, event: &StoredEvent) {
    let text = |field: &str| {
        event
            .payload
            .get(field)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    match event.event_type.as_str() {
        "AccountConnected" => {
            if let (Some(workspace), Some(account), Some(provider)) = (
                text("workspace_id"),
                text("account_id"),
                text("provider_account_id"),
            ) {
                by_account.insert(
                    AccountId::new(account.clone()),
                    KnownAccount {
                        workspace: WorkspaceId::new(workspace),
                        account: AccountId::new(account),
                        provider: ProviderAccountId::new(provider),
                        owner: text("owner").map(OwnerId::new),
                        active: true,
                    },
                );
            }
        }
        "AccountDisconnected" => {
            if let Some(known) = by_account.get_mut(&AccountId::new(event.aggregate_id.as_str())) {
                known.active = false;
            }
        }
        _ => {}
    }
}
