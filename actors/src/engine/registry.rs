use actix::Addr;
use plera_domain::ids::{AccountId, WorkspaceId};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::sender::SenderActor;

type Entries = BTreeMap<AccountId, (WorkspaceId, Addr<SenderActor>)>;

/// Where each sender's actor lives, and which workspace it belongs to.
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<RwLock<Entries>>,
}

impl Registry {
    /// The actor of a sender.
    pub fn get(&self, account: &AccountId) -> Option<Addr<SenderActor>> {
        self.read().get(account).map(|(_, a)| a.clone())
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
            .insert(account, (workspace, addr));
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
