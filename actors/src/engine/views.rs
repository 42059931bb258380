//! The engine's read calls over the views (unified inbox, conversations, sender health, funnels).
//!
//! The views live in storage the runtime does not know: they come in through the
//! [`ViewQueries`] port given to [`EngineBuilder::views`](super::EngineBuilder::views) (the SQL
//! views of `plera-adapters` implement it). Every call first brings the views up to the log's end,
//! so a read made after a command sees what the command recorded. Every call is scoped to a
//! workspace: another workspace's sender or campaign is "not found".

use plera_domain::ids::{AccountId, CampaignId, LeadId, WorkspaceId};
use plera_projections::queries::{
    Funnel, FunnelDay, InboxFilter, SenderDetail, SenderHealth, Thread, ViewError, ViewQueries,
};

use super::{Engine, EngineError};
use crate::store::StoreError;

/// How many warnings `sender_health` shows.
pub const SHOWN_WARNINGS: usize = 20;

impl Engine {
    /// A page of the workspace's unified inbox, most recent thread first (`filter.workspace` is
    /// set to `workspace` whatever it held).
    pub async fn inbox(
        &self,
        workspace: &WorkspaceId,
        filter: InboxFilter,
    ) -> Result<Vec<Thread>, EngineError> {
        let views = self.fresh_views().await?;
        let filter = InboxFilter {
            workspace: Some(workspace.clone()),
            ..filter
        };
        views.inbox(&filter).await.map_err(view_error)
    }

    /// The conversation with `lead`: its thread with `account`, or all its threads (one per
    /// sender) when `account` is `None`.
    pub async fn conversation(
        &self,
        workspace: &WorkspaceId,
        lead: &LeadId,
        account: Option<&AccountId>,
    ) -> Result<Vec<Thread>, EngineError> {
        self.inbox(
            workspace,
            InboxFilter {
                lead: Some(lead.clone()),
                account: account.cloned(),
                ..InboxFilter::default()
            },
        )
        .await
    }

    /// A sender's status, limits, today's use and latest warnings.
    pub async fn sender_health(
        &self,
        workspace: &WorkspaceId,
        account: &AccountId,
    ) -> Result<SenderDetail, EngineError> {
        let views = self.fresh_views().await?;
        let health = views
            .senders(Some(workspace))
            .await
            .map_err(view_error)?
            .into_iter()
            .find(|s| &s.account_id == account)
            .ok_or_else(|| EngineError::not_found("sender", account.as_str()))?;
        let warnings = views
            .sender_warnings(account, SHOWN_WARNINGS)
            .await
            .map_err(view_error)?;
        Ok(SenderDetail { health, warnings })
    }

    /// Every sender of the workspace with its health and quota use, by account id.
    pub async fn senders_health(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<SenderHealth>, EngineError> {
        let views = self.fresh_views().await?;
        views.senders(Some(workspace)).await.map_err(view_error)
    }

    /// The funnels of the workspace's campaigns (or of one), with their steps.
    pub async fn funnel(
        &self,
        workspace: &WorkspaceId,
        campaign: Option<&CampaignId>,
    ) -> Result<Vec<Funnel>, EngineError> {
        let views = self.fresh_views().await?;
        let funnels = views
            .funnel(Some(workspace), campaign)
            .await
            .map_err(view_error)?;
        match campaign {
            Some(c) if funnels.is_empty() => Err(EngineError::not_found("campaign", c.as_str())),
            _ => Ok(funnels),
        }
    }

    /// A campaign's activity per UTC day, oldest first.
    pub async fn funnel_days(
        &self,
        workspace: &WorkspaceId,
        campaign: &CampaignId,
    ) -> Result<Vec<FunnelDay>, EngineError> {
        // Scoped through the funnel: a campaign of another workspace is not found.
        self.funnel(workspace, Some(campaign)).await?;
        let views = self.views()?;
        views.funnel_days(campaign).await.map_err(view_error)
    }

    fn views(&self) -> Result<&dyn ViewQueries, EngineError> {
        self.inner.views.as_deref().ok_or_else(|| {
            EngineError::InvalidInput(
                "this engine was built without views (EngineBuilder::views)".into(),
            )
        })
    }

    /// The views, brought up to the log's end.
    async fn fresh_views(&self) -> Result<&dyn ViewQueries, EngineError> {
        let views = self.views()?;
        views.refresh().await.map_err(view_error)?;
        Ok(views)
    }
}

/// A view failure, as the engine reports storage failures.
fn view_error(e: ViewError) -> EngineError {
    EngineError::Store(StoreError::Backend(format!("views: {e}")))
}
