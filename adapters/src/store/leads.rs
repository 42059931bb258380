//! Lead profiles in the `lead_profiles` table beside the log: personal data stays out of the
//! events, survives a restart (an engine reopened on the database renders texts as before), and
//! erasing a lead is deleting one row.

use async_trait::async_trait;
use plera_actors::{LeadDirectory, LeadProfile};
use plera_domain::ids::{LeadId, WorkspaceId};
use sqlx::types::Json;
use sqlx::{PgPool, SqlitePool};
use std::collections::{BTreeMap, HashMap};

use super::error::Redactor;

/// Template variables as stored: a JSON object of strings (a `BTreeMap`, so the stored text is
/// the same whatever order they were set in).
type Vars = BTreeMap<String, String>;

/// Reads a stored `vars` column back; a value that is not an object of strings is an error, not
/// an empty profile, so a template never renders from half a profile.
fn decode_vars(workspace: &WorkspaceId, lead: &LeadId, text: &str) -> Result<Vars, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("stored profile of lead {lead} in {workspace} is unreadable: {e}"))
}

/// Profiles from `(lead_id, vars, email)` rows.
fn profiles(
    workspace: &WorkspaceId,
    rows: Vec<(String, String, Option<String>)>,
) -> Result<HashMap<LeadId, LeadProfile>, String> {
    rows.into_iter()
        .map(|(lead, vars, email)| {
            let lead = LeadId::new(lead);
            let vars = decode_vars(workspace, &lead, &vars)?;
            Ok((lead, LeadProfile { vars, email }))
        })
        .collect()
}

/// Lead profiles in a SQLite database.
#[derive(Clone)]
pub struct SqliteLeadDirectory {
    writer: SqlitePool,
    reader: SqlitePool,
    redact: Redactor,
}

impl SqliteLeadDirectory {
    /// The directory on the log's pools: writes queue on its one writer connection with the
    /// appends, instead of failing on a busy database.
    pub(crate) fn new(writer: SqlitePool, reader: SqlitePool, redact: Redactor) -> Self {
        Self {
            writer,
            reader,
            redact,
        }
    }
}

#[async_trait]
impl LeadDirectory for SqliteLeadDirectory {
    async fn put_many(
        &self,
        workspace: &WorkspaceId,
        profiles: Vec<(LeadId, LeadProfile)>,
    ) -> Result<(), String> {
        // One transaction: an enrollment of many leads costs one commit, not one per lead.
        let mut tx = self
            .writer
            .begin()
            .await
            .map_err(|e| self.redact.scrub(e))?;
        for (lead, profile) in profiles {
            let vars = serde_json::to_string(&profile.vars).map_err(|e| e.to_string())?;
            sqlx::query(
                "INSERT INTO lead_profiles (workspace_id, lead_id, vars, email) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (workspace_id, lead_id) \
                 DO UPDATE SET vars = excluded.vars, email = excluded.email",
            )
            .bind(workspace.as_str())
            .bind(lead.as_str())
            .bind(vars)
            .bind(profile.email)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.redact.scrub(e))?;
        }
        tx.commit().await.map_err(|e| self.redact.scrub(e))
    }

    async fn put(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        profile: LeadProfile,
    ) -> Result<(), String> {
        self.put_many(workspace, vec![(lead.clone(), profile)])
            .await
    }

    async fn get(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
    ) -> Result<Option<LeadProfile>, String> {
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT vars, email FROM lead_profiles WHERE workspace_id = ? AND lead_id = ?",
        )
        .bind(workspace.as_str())
        .bind(lead.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| self.redact.scrub(e))?;
        row.map(|(vars, email)| {
            Ok(LeadProfile {
                vars: decode_vars(workspace, lead, &vars)?,
                email,
            })
        })
        .transpose()
    }
    async fn get_many(
        &self,
        workspace: &WorkspaceId,
        leads: &[LeadId],
    ) -> Result<HashMap<LeadId, LeadProfile>, String> {
        if leads.is_empty() {
            return Ok(HashMap::new());
        }
        // The ids travel as one JSON array: one statement text whatever their number, and no
        // parameter limit.
        let ids = serde_json::to_string(&leads.iter().map(LeadId::as_str).collect::<Vec<_>>())
            .map_err(|e| e.to_string())?;
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT lead_id, vars, email FROM lead_profiles \
             WHERE workspace_id = ? AND lead_id IN (SELECT value FROM json_each(?))",
        )
        .bind(workspace.as_str())
        .bind(ids)
        .fetch_all(&self.reader)
        .await
        .map_err(|e| self.redact.scrub(e))?;
        profiles(workspace, rows)
    }
}

/// Lead profiles in a PostgreSQL database (the schema of the log's connections).
#[derive(Clone)]
pub struct PostgresLeadDirectory {
    pool: PgPool,
    redact: Redactor,
}

impl PostgresLeadDirectory {
    /// The directory on the log's pool.
    pub(crate) fn new(pool: PgPool, redact: Redactor) -> Self {
        Self { pool, redact }
    }
}

#[async_trait]
impl LeadDirectory for PostgresLeadDirectory {
    async fn put_many(
        &self,
        workspace: &WorkspaceId,
        profiles: Vec<(LeadId, LeadProfile)>,
    ) -> Result<(), String> {
        // One transaction: an enrollment of many leads costs one commit, not one per lead.
        let mut tx = self.pool.begin().await.map_err(|e| self.redact.scrub(e))?;
        for (lead, profile) in profiles {
            sqlx::query(
                "INSERT INTO lead_profiles (workspace_id, lead_id, vars, email) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace_id, lead_id) \
                 DO UPDATE SET vars = EXCLUDED.vars, email = EXCLUDED.email",
            )
            .bind(workspace.as_str())
            .bind(lead.as_str())
            .bind(Json(&profile.vars))
            .bind(profile.email)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.redact.scrub(e))?;
        }
        tx.commit().await.map_err(|e| self.redact.scrub(e))
    }

    async fn put(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        profile: LeadProfile,
    ) -> Result<(), String> {
        self.put_many(workspace, vec![(lead.clone(), profile)])
            .await
    }

    async fn get(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
    ) -> Result<Option<LeadProfile>, String> {
        // As text, so that a malformed value is reported with the lead it belongs to.
        let row: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT vars::text, email FROM lead_profiles \
             WHERE workspace_id = $1 AND lead_id = $2",
        )
        .bind(workspace.as_str())
        .bind(lead.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.redact.scrub(e))?;
        row.map(|(vars, email)| {
            Ok(LeadProfile {
                vars: decode_vars(workspace, lead, &vars)?,
                email,
            })
        })
        .transpose()
    }
    async fn get_many(
        &self,
        workspace: &WorkspaceId,
        leads: &[LeadId],
    ) -> Result<HashMap<LeadId, LeadProfile>, String> {
        if leads.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<&str> = leads.iter().map(LeadId::as_str).collect();
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT lead_id, vars::text, email FROM lead_profiles \
             WHERE workspace_id = $1 AND lead_id = ANY($2)",
        )
        .bind(workspace.as_str())
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.redact.scrub(e))?;
        profiles(workspace, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_that_are_not_an_object_of_strings_are_an_error() {
        let (ws, lead) = (WorkspaceId::new("ws"), LeadId::new("l-1"));
        assert_eq!(
            decode_vars(&ws, &lead, r#"{"first_name":"Ada"}"#),
            Ok(Vars::from([("first_name".to_string(), "Ada".to_string())]))
        );
        let error = decode_vars(&ws, &lead, r#"{"first_name":7}"#).unwrap_err();
        assert!(error.contains("l-1") && error.contains("ws"), "{error}");
        assert!(decode_vars(&ws, &lead, "[]").is_err());
    }
}
