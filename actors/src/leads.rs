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

    /// The profiles of those of `leads` that have one (a lead without a profile is absent from
    /// the map). SQL stores override this to read them in one query; the default asks [`get`]
    /// for each. A stored profile that does not read back fails the whole call (ask `get` for
    /// each lead to find which).
    ///
    /// [`get`]: LeadDirectory::get
    async fn get_many(
        &self,
        workspace: &WorkspaceId,
        leads: &[LeadId],
    ) -> Result<HashMap<LeadId, LeadProfile>, String> {
        let mut out = HashMap::with_capacity(leads.len());
        for lead in leads {
            if let Some(profile) = self.get(workspace, lead).await? {
                out.insert(lead.clone(), profile);
            }
        }
        Ok(out)
    }
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

    async fn get_many(
        &self,
        workspace: &WorkspaceId,
        leads: &[LeadId],
    ) -> Result<HashMap<LeadId, LeadProfile>, String> {
        let profiles = self.profiles.read().unwrap_or_else(|e| e.into_inner());
        Ok(leads
            .iter()
            .filter_map(|lead| {
                profiles
                    .get(&(workspace.clone(), lead.clone()))
                    .map(|p| (lead.clone(), p.clone()))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory with only `get`: the trait's default `get_many` asks it lead by lead.
    struct OnlyGet(MemoryLeadDirectory);

    #[async_trait]
    impl LeadDirectory for OnlyGet {
        async fn put(
            &self,
            workspace: &WorkspaceId,
            lead: &LeadId,
            profile: LeadProfile,
        ) -> Result<(), String> {
            self.0.put(workspace, lead, profile).await
        }

        async fn get(
            &self,
            workspace: &WorkspaceId,
            lead: &LeadId,
        ) -> Result<Option<LeadProfile>, String> {
            self.0.get(workspace, lead).await
        }
    }

    async fn check_get_many(directory: &dyn LeadDirectory) {
        let (ws, other) = (WorkspaceId::new("ws"), WorkspaceId::new("other"));
        let (a, b, c) = (LeadId::new("a"), LeadId::new("b"), LeadId::new("c"));
        let ada = LeadProfile::new("Ada", "Lovelace", "Engines").with_email("ada@example.com");
        let bob = LeadProfile::new("Bob", "Stone", "Quarry");
        directory.put(&ws, &a, ada.clone()).await.unwrap();
        directory.put(&ws, &b, bob.clone()).await.unwrap();
        directory.put(&other, &c, bob.clone()).await.unwrap();
        let got = directory
            .get_many(&ws, &[a.clone(), b.clone(), c.clone()])
            .await
            .unwrap();
        assert_eq!(got.len(), 2, "c's profile is in another workspace");
        assert_eq!(got[&a], ada);
        assert_eq!(got[&b], bob);
        assert!(directory.get_many(&ws, &[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn get_many_reads_the_profiles_of_one_workspace() {
        check_get_many(&MemoryLeadDirectory::default()).await;
        check_get_many(&OnlyGet(MemoryLeadDirectory::default())).await;
    }
}
