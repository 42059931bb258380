use actix::Addr;
use plera_domain::ids::{AccountId, WorkspaceId};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::sender::SenderActor;

/// Per sender: its workspace, and its actor when this process runs it (with several engine
/// processes, only the senders it holds the lease of).
type Entries = BTreeMap<AccountId, (WorkspaceId, Option<Addr<SenderActor>>)>;

/// Where each sender's actor lives, and which workspace it belongs to.
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<RwLock<Entries>>,
}

impl Registry {
    /// The actor of a sender.
    pub fn get(&self, account: &AccountId) -> Option<Addr<SenderActor>> {
        self.read().get(account).and_then(|(_, a)| a.clone())
    }

    /// Whether `account` is a sender of `workspace`.
    pub fn belongs_to(&self, account: &AccountId, workspace: &WorkspaceId) -> bool {
        self.read()
            .get(account)
            .is_some_and(|(w, _)| w == workspace)
    }

    /// Registers (or replaces, after a re-spawn) a sender's actor.
    pub fn insert(&self, account: AccountId, workspace: WorkspaceId, addr: Addr<SenderActor>) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account, (workspace, Some(addr)));
    }

    /// Registers a sender another process runs (or none yet): known, without an actor here.
    pub fn insert_elsewhere(&self, account: AccountId, workspace: WorkspaceId) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account, (workspace, None));
    }

    /// The senders with an actor here.
    pub fn running(&self) -> Vec<AccountId> {
        self.read()
            .iter()
            .filter(|(_, (_, addr))| addr.is_some())
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Forgets a sender's actor here (another process runs it now); keeps its workspace.
    pub fn retire(&self, account: &AccountId) {
        if let Some(entry) = self
            .inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(account)
        {
            entry.1 = None;
        }
    }

    /// Whether `account` is known at all.
    pub fn knows(&self, account: &AccountId) -> bool {
        self.read().contains_key(account)
    }

    /// Every sender, with its workspace.
    pub fn all(&self) -> Vec<(AccountId, WorkspaceId)> {
        self.read()
            .iter()
            .map(|(a, (w, _))| (a.clone(), w.clone()))
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}
