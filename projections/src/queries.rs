//! Reading the views back: typed results (serde-ready, in the JSON shapes of DESIGN §8), the
//! filters, and the [`ViewQueries`] port the engine's read calls go through. The port lives here
//! because the engine (`plera-actors`) cannot depend on the storage adapters that implement it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use plera_domain::ids::{AccountId, CampaignId, LeadId, OwnerId, WorkspaceId};
use plera_domain::sender::{PauseReason, Readiness, SenderStatus, WarningKind};
use plera_domain::values::{Action, Channel, Limits, Tier};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::funnel::{CampaignFunnel, DayFunnel, StepFunnel};
use crate::inbox::{Direction, MessageKind, MessageRow, ThreadRow};
use crate::senders::{SenderRow, WarningRow};
use crate::time::parse_stamp;
use crate::{untag, ProjectionError};

/// Why a view could not be read or kept current.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ViewError {
    /// The database failed.
    #[error("view storage failure: {0}")]
    Storage(String),
    /// A view could not apply the log.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// A stored row does not read back.
    #[error("view row unreadable: {0}")]
    Corrupt(String),
    /// No such view.
    #[error("no view named `{0}`")]
    UnknownView(String),
}

/// Which threads of the unified inbox to return. Threads come most recent first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboxFilter {
    /// Only this workspace's threads.
    pub workspace: Option<WorkspaceId>,
    /// Only threads of this lead.
    pub lead: Option<LeadId>,
    /// Only threads of this sender.
    pub account: Option<AccountId>,
    /// Only threads whose latest sequence message came through this campaign.
    pub campaign: Option<CampaignId>,
    /// Only threads whose latest message went on this channel.
    pub channel: Option<Channel>,
    /// Only threads with unread messages.
    pub unread_only: bool,
    /// At most this many threads (a page).
    pub limit: Option<usize>,
    /// Threads to pass over first (the page's start).
    pub offset: usize,
}

impl InboxFilter {
    /// Whether a thread passes the filter (limit and offset aside).
    pub fn matches(&self, t: &ThreadRow) -> bool {
        self.workspace
            .as_ref()
            .is_none_or(|w| w.as_str() == t.workspace_id)
            && self.lead.as_ref().is_none_or(|l| l.as_str() == t.lead_id)
            && self
                .account
                .as_ref()
                .is_none_or(|a| a.as_str() == t.account_id)
            && self
                .campaign
                .as_ref()
                .is_none_or(|c| Some(c.as_str()) == t.campaign_id.as_deref())
            && self
                .channel
                .is_none_or(|c| crate::tag(&c) == t.last_channel)
            && (!self.unread_only || t.unread > 0)
    }
}

/// One message of a thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `inbound` | `outbound`.
    pub direction: Direction,
    /// `linkedin` | `email`.
    pub channel: Channel,
    /// When.
    pub at: DateTime<Utc>,
    /// The text (invite note, message, email body, reply).
    pub text: String,
    /// What the message is (invite, message, email, reply, out_of_office, inbound).
    pub kind: MessageKind,
    /// The email's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// One thread of the unified inbox: `{ lead_id, account_id, campaign_id, unread, messages }`
/// as DESIGN §8 prints it, and a few fields more.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// The lead.
    pub lead_id: LeadId,
    /// The sender; `None` for an email from someone in no sequence.
    pub account_id: Option<AccountId>,
    /// Campaign of the latest message that came through a sequence.
    pub campaign_id: Option<CampaignId>,
    /// Inbound messages since the last read.
    pub unread: u64,
    /// Every message, oldest first.
    pub messages: Vec<Message>,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Channel of the latest message.
    pub last_channel: Channel,
    /// Time of the latest message.
    pub last_at: DateTime<Utc>,
    /// When the thread was last read.
    pub last_read_at: Option<DateTime<Utc>>,
}

impl Thread {
    /// Builds a thread from its row and its messages' rows (in any order).
    pub fn from_rows(thread: ThreadRow, mut messages: Vec<MessageRow>) -> Result<Self, ViewError> {
        messages.sort_by(|a, b| (&a.at, a.position).cmp(&(&b.at, b.position)));
        Ok(Thread {
            lead_id: LeadId::new(thread.lead_id),
            account_id: (!thread.account_id.is_empty()).then(|| AccountId::new(thread.account_id)),
            campaign_id: thread.campaign_id.map(CampaignId::new),
            unread: count(thread.unread),
            messages: messages
                .into_iter()
                .map(|m| {
                    Ok(Message {
                        direction: parse_tag(&m.direction)?,
                        channel: parse_tag(&m.channel)?,
                        at: time(&m.at)?,
                        text: m.text,
                        kind: parse_tag(&m.kind)?,
                        subject: m.subject,
                    })
                })
                .collect::<Result<_, ViewError>>()?,
            workspace_id: WorkspaceId::new(thread.workspace_id),
            last_channel: parse_tag(&thread.last_channel)?,
            last_at: time(&thread.last_at)?,
            last_read_at: thread.last_read_at.as_deref().map(time).transpose()?,
        })
    }
}

/// Today's use of a sender, relative to the view's latest event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageView {
    /// The sender's local day counted.
    pub day: NaiveDate,
    /// Invites started that day.
    pub invites: u64,
    /// Messages started that day.
    pub messages: u64,
    /// Invites started in the 7 × 24 hours up to `as_of`.
    pub weekly_invites: u64,
    /// The view's "now": the latest event time it has seen.
    pub as_of: Option<DateTime<Utc>>,
}

/// A warning a sender received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningView {
    /// What was signalled.
    pub kind: WarningKind,
    /// The provider's words, if any.
    pub detail: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl WarningView {
    /// Reads a `sender_warnings` row.
    pub fn from_row(row: &WarningRow) -> Result<Self, ViewError> {
        Ok(WarningView {
            kind: parse_tag(&row.kind)?,
            detail: row.detail.clone(),
            at: time(&row.at)?,
        })
    }
}

/// A sender's health and quota (`plera accounts`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenderHealth {
    /// The sender.
    pub account_id: AccountId,
    /// Its workspace (once connected).
    pub workspace_id: Option<WorkspaceId>,
    /// Its owner.
    pub owner: Option<OwnerId>,
    /// LinkedIn subscription.
    pub tier: Option<Tier>,
    /// Recorded status, with a pause's reason and end (`"status":"paused","reason":…,"until":…`).
    #[serde(flatten)]
    pub status: SenderStatus,
    /// Reason of the pause in force, whatever the status shows (restrictions and expired sessions
    /// are pauses too).
    pub pause_reason: Option<PauseReason>,
    /// When the pause in force began.
    pub paused_since: Option<DateTime<Utc>>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Working hours, local `HH:MM`.
    pub working_hours: Option<(String, String)>,
    /// Whether the limits ramp up.
    pub warm_up: Option<bool>,
    /// Configured limits.
    pub limits: Option<Limits>,
    /// Limits in force at `usage.as_of` (warm-up applied).
    pub caps: Option<Limits>,
    /// Whether an invite / a message could start at `usage.as_of` (working hours aside).
    pub ready: Readiness,
    /// Today's use.
    pub usage: UsageView,
    /// The latest LinkedIn action started.
    pub last_action_at: Option<DateTime<Utc>>,
    /// Warnings received in all.
    pub warnings: u64,
    /// The latest warning.
    pub last_warning: Option<WarningView>,
    /// When connected.
    pub connected_at: Option<DateTime<Utc>>,
    /// When disconnected.
    pub disconnected_at: Option<DateTime<Utc>>,
}

impl SenderHealth {
    /// Reads a `sender_health` row; `as_of` is `sender_clock.as_of`.
    pub fn from_row(row: &SenderRow, as_of: Option<DateTime<Utc>>) -> Result<Self, ViewError> {
        let reason: Option<PauseReason> = row.pause_reason.as_deref().map(parse_tag).transpose()?;
        let until = row.paused_until.as_deref().map(time).transpose()?;
        let status = match row.status.as_str() {
            "not_connected" => SenderStatus::NotConnected,
            "connected" => SenderStatus::Connected,
            "paused" => SenderStatus::Paused {
                reason: reason.ok_or_else(|| corrupt("paused without a reason"))?,
                until,
            },
            "restricted" => SenderStatus::Restricted,
            "needs_reconnect" => SenderStatus::NeedsReconnect,
            "disconnected" => SenderStatus::Disconnected,
            other => return Err(corrupt(&format!("unknown sender status `{other}`"))),
        };
        let limits = |d: Option<i64>, m: Option<i64>, w: Option<i64>| match (d, m, w) {
            (Some(d), Some(m), Some(w)) => Some(Limits {
                daily_invites: u32::try_from(d).unwrap_or(0),
                daily_messages: u32::try_from(m).unwrap_or(0),
                weekly_invites: u32::try_from(w).unwrap_or(0),
            }),
            _ => None,
        };
        let last_warning = match (&row.last_warning_kind, &row.last_warning_at) {
            (Some(kind), Some(at)) => Some(WarningView {
                kind: parse_tag(kind)?,
                detail: None,
                at: time(at)?,
            }),
            _ => None,
        };
        Ok(SenderHealth {
            account_id: AccountId::new(row.account_id.clone()),
            workspace_id: row.workspace_id.clone().map(WorkspaceId::new),
            owner: row.owner.clone().map(OwnerId::new),
            tier: row.tier.as_deref().map(parse_tag).transpose()?,
            status,
            pause_reason: reason,
            paused_since: row.paused_since.as_deref().map(time).transpose()?,
            timezone: row.timezone.clone(),
            working_hours: row
                .working_hours_start
                .clone()
                .zip(row.working_hours_end.clone()),
            warm_up: row.warm_up,
            limits: limits(row.daily_invites, row.daily_messages, row.weekly_invites),
            caps: limits(
                row.cap_daily_invites,
                row.cap_daily_messages,
                row.cap_weekly_invites,
            ),
            ready: Readiness {
                invite: row.ready_invite,
                message: row.ready_message,
            },
            usage: UsageView {
                day: NaiveDate::parse_from_str(&row.usage_day, "%Y-%m-%d")
                    .map_err(|e| corrupt(&e.to_string()))?,
                invites: count(row.invites_today),
                messages: count(row.messages_today),
                weekly_invites: count(row.invites_7d),
                as_of,
            },
            last_action_at: row.last_action_at.as_deref().map(time).transpose()?,
            warnings: count(row.warnings),
            last_warning,
            connected_at: row.connected_at.as_deref().map(time).transpose()?,
            disconnected_at: row.disconnected_at.as_deref().map(time).transpose()?,
        })
    }
}

/// A sender's health with its latest warnings (the engine's `sender_health`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SenderDetail {
    /// Status, limits and use.
    pub health: SenderHealth,
    /// Latest warnings, newest first.
    pub warnings: Vec<WarningView>,
}

/// One step of a campaign's funnel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunnelStep {
    /// Step index in the play.
    pub step: u32,
    /// What the step does.
    pub action: Option<Action>,
    /// Leads for whom it started.
    pub started: u64,
    /// Leads it reached (invite, message or email out).
    pub sent: u64,
    /// Final failures.
    pub failed: u64,
    /// Times it was passed over.
    pub skipped: u64,
    /// Its invites accepted.
    pub accepted: u64,
    /// accepted / sent (invite steps).
    pub acceptance_rate: Option<f64>,
    /// Replies after its message.
    pub replied: u64,
    /// Of those on LinkedIn.
    pub replied_linkedin: u64,
    /// Of those by email.
    pub replied_email: u64,
    /// replied / sent.
    pub reply_rate: Option<f64>,
    /// Sequences stopped by a reply after its message.
    pub stopped: u64,
}

impl FunnelStep {
    /// Reads a `funnel_steps` row.
    pub fn from_row(row: &StepFunnel) -> Result<Self, ViewError> {
        Ok(FunnelStep {
            step: u32::try_from(row.step).map_err(|e| corrupt(&e.to_string()))?,
            action: row.action.as_deref().map(parse_tag).transpose()?,
            started: count(row.started),
            sent: count(row.sent),
            failed: count(row.failed),
            skipped: count(row.skipped),
            accepted: count(row.accepted),
            acceptance_rate: row.acceptance_rate,
            replied: count(row.replied),
            replied_linkedin: count(row.replied_linkedin),
            replied_email: count(row.replied_email),
            reply_rate: row.reply_rate,
            stopped: count(row.stopped_replied),
        })
    }
}

/// A campaign's funnel with its steps (`plera funnel`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Its workspace.
    pub workspace_id: Option<WorkspaceId>,
    /// Its name.
    pub name: Option<String>,
    /// Leads enrolled.
    pub enrolled: u64,
    /// Leads who received anything.
    pub contacted: u64,
    /// Invites sent.
    pub invited: u64,
    /// Invites accepted.
    pub accepted: u64,
    /// accepted / invited.
    pub acceptance_rate: Option<f64>,
    /// LinkedIn messages sent.
    pub messaged: u64,
    /// Emails sent.
    pub emailed: u64,
    /// Leads who replied.
    pub replied: u64,
    /// Leads whose first reply came on LinkedIn.
    pub replied_linkedin: u64,
    /// Leads whose first reply came by email.
    pub replied_email: u64,
    /// replied / contacted.
    pub reply_rate: Option<f64>,
    /// replied_linkedin / leads contacted on LinkedIn.
    pub reply_rate_linkedin: Option<f64>,
    /// replied_email / leads emailed.
    pub reply_rate_email: Option<f64>,
    /// Leads who sent an out-of-office answer.
    pub out_of_office: u64,
    /// Sequences stopped by a reply.
    pub stopped: u64,
    /// Sequences stopped for another reason.
    pub stopped_other: u64,
    /// Sequences completed.
    pub completed: u64,
    /// Per step, in play order.
    pub steps: Vec<FunnelStep>,
}

impl Funnel {
    /// Reads a `funnel_campaigns` row and its `funnel_steps` rows (in any order).
    pub fn from_rows(row: &CampaignFunnel, steps: &[StepFunnel]) -> Result<Self, ViewError> {
        let mut steps = steps
            .iter()
            .map(FunnelStep::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        steps.sort_by_key(|s| s.step);
        Ok(Funnel {
            campaign_id: CampaignId::new(row.campaign_id.clone()),
            workspace_id: row.workspace_id.clone().map(WorkspaceId::new),
            name: row.name.clone(),
            enrolled: count(row.enrolled),
            contacted: count(row.contacted),
            invited: count(row.invited),
            accepted: count(row.accepted),
            acceptance_rate: row.acceptance_rate,
            messaged: count(row.messages),
            emailed: count(row.emails),
            replied: count(row.replied),
            replied_linkedin: count(row.replied_linkedin),
            replied_email: count(row.replied_email),
            reply_rate: row.reply_rate,
            reply_rate_linkedin: row.reply_rate_linkedin,
            reply_rate_email: row.reply_rate_email,
            out_of_office: count(row.out_of_office),
            stopped: count(row.stopped_replied),
            stopped_other: count(row.stopped_other),
            completed: count(row.completed),
            steps,
        })
    }
}

/// A campaign's activity on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelDay {
    /// The day.
    pub day: NaiveDate,
    /// Leads enrolled.
    pub enrolled: u64,
    /// Invites sent.
    pub invited: u64,
    /// Invites accepted.
    pub accepted: u64,
    /// LinkedIn messages sent.
    pub messaged: u64,
    /// Emails sent.
    pub emailed: u64,
    /// Leads who replied.
    pub replied: u64,
    /// Sequences stopped by a reply.
    pub stopped: u64,
    /// Sequences completed.
    pub completed: u64,
}

impl FunnelDay {
    /// Reads a `funnel_daily` row.
    pub fn from_row(row: &DayFunnel) -> Result<Self, ViewError> {
        Ok(FunnelDay {
            day: NaiveDate::parse_from_str(&row.day, "%Y-%m-%d")
                .map_err(|e| corrupt(&e.to_string()))?,
            enrolled: count(row.enrolled),
            invited: count(row.invited),
            accepted: count(row.accepted),
            messaged: count(row.messages),
            emailed: count(row.emails),
            replied: count(row.replied),
            stopped: count(row.stopped_replied),
            completed: count(row.completed),
        })
    }
}

/// How far a view is and how many rows it holds (`plera replay --json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewCount {
    /// The view.
    pub view: String,
    /// Its checkpoint: the last log position applied.
    pub position: u64,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
}

/// The engine's read access to the views (implemented by the SQL views in `plera-adapters`).
#[async_trait]
pub trait ViewQueries: Send + Sync + 'static {
    /// Applies whatever the log holds beyond the views' checkpoints, so that a read after a
    /// command sees it.
    async fn refresh(&self) -> Result<(), ViewError>;

    /// Threads of the unified inbox, most recent first, each with all its messages.
    async fn inbox(&self, filter: &InboxFilter) -> Result<Vec<Thread>, ViewError>;

    /// Senders' health and quota (all workspaces when `None`), by account id.
    async fn senders(
        &self,
        workspace: Option<&WorkspaceId>,
    ) -> Result<Vec<SenderHealth>, ViewError>;

    /// A sender's latest warnings, newest first.
    async fn sender_warnings(
        &self,
        account: &AccountId,
        limit: usize,
    ) -> Result<Vec<WarningView>, ViewError>;

    /// Campaign funnels with their steps, by campaign id; filtered by workspace and campaign.
    async fn funnel(
        &self,
        workspace: Option<&WorkspaceId>,
        campaign: Option<&CampaignId>,
    ) -> Result<Vec<Funnel>, ViewError>;

    /// A campaign's activity per UTC day, oldest first.
    async fn funnel_days(&self, campaign: &CampaignId) -> Result<Vec<FunnelDay>, ViewError>;

    /// Checkpoint and row counts of every view.
    async fn counts(&self) -> Result<Vec<ViewCount>, ViewError>;
}

fn parse_tag<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ViewError> {
    untag(text).ok_or_else(|| corrupt(&format!("unexpected value `{text}`")))
}

fn time(text: &str) -> Result<DateTime<Utc>, ViewError> {
    parse_stamp(text).ok_or_else(|| corrupt(&format!("not a timestamp: `{text}`")))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn corrupt(reason: &str) -> ViewError {
    ViewError::Corrupt(reason.to_string())
}
