//! Lead profiles: the personal data templates need (names, company, email). Kept out of the
//! event log (an id does there), so that erasing a lead is erasing one row.

use async_trait::async_trait;
use plera_domain::ids::{LeadId, WorkspaceId};
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// What the engine knows about a lead for rendering and for email.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadProfile {
    /// Template variables (`first_name`, `company`, ...).
    pub vars: BTreeMap<String, String>,
    /// Email address, when known.
    pub email: Option<String>,
}

impl LeadProfile {
    /// A profile with the usual variables.
    pub fn new(first_name: &str, last_name: &str, company: &str) -> Self {
        let mut vars = BTreeMap::new();
        vars.insert("first_name".to_string(), first_name.to_string());
        vars.insert("last_name".to_string(), last_name.to_string());
        vars.insert("full_name".to_string(), format!("{first_name} {last_name}"));
        vars.insert("company".to_string(), company.to_string());
        Self { vars, email: None }
    }

    /// Sets a template variable.
    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_string(), value.to_string());
        self
    }

    /// Sets the email address.
    pub fn with_email(mut self, email: &str) -> Self {
        self.email = Some(email.to_string());
        self
    }
}

/// Where lead profiles live; the SQL stores keep them in a table beside the log.
#[async_trait]
pub trait LeadDirectory: Send + Sync + 'static {
    /// Stores or replaces a profile.
    async fn put(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        profile: LeadProfile,
    ) -> Result<(), String>;

    /// Stores many profiles; stores with transactions override this to write them in one.
    async fn put_many(
        &self,
        workspace: &WorkspaceId,
        profiles: Vec<(LeadId, LeadProfile)>,
    ) -> Result<(), String> {
        for (lead, profile) in profiles {
            self.put(workspace, &lead, profile).await?;
        }
        Ok(())
    }

    /// A lead's profile.
    async fn get(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
    ) -> Result<Option<LeadProfile>, String>;
}

/// Profiles in memory.
#[derive(Default)]
pub struct MemoryLeadDirectory {
    profiles: RwLock<HashMap<(WorkspaceId, LeadId), LeadProfile>>,
}

#[async_trait]
impl LeadDirectory for MemoryLeadDirectory {
    async fn put(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        profile: LeadProfile,
    ) -> Result<(), String> {
        self.profiles
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((workspace.clone(), lead.clone()), profile);
        Ok(())
    }

    async fn get(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
    ) -> Result<Option<LeadProfile>, String> {
        Ok(self
            .profiles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(workspace.clone(), lead.clone()))
            .cloned())
    }
}
