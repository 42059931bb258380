//! `plera accounts`: every sender with its status, the reason of a pause in force, and today's
//! use against each limit in force (warm-up applied). "Today" is the sender's local day of the
//! latest event in the log: the views read no clock, so a replayed log shows what it showed.

use chrono::{DateTime, NaiveDate, Utc};
use plera_domain::ids::{AccountId, OwnerId, WorkspaceId};
use plera_domain::sender::{PauseReason, SenderStatus};
use plera_domain::values::{Limits, Tier};
use plera_projections::queries::{SenderHealth, ViewQueries, WarningView};
use serde::Serialize;

use super::args::AccountsArgs;
use super::error::CliError;
use super::output::{table, Output};
use super::views::with_views;
use super::Finished;

/// Use of one limit.
#[derive(Serialize)]
struct Use {
    /// Actions started.
    used: u64,
    /// The limit in force (none before the account is connected).
    limit: Option<u32>,
}

/// One sender as `--json` prints it.
#[derive(Serialize)]
struct AccountJson<'a> {
    account_id: &'a AccountId,
    workspace_id: Option<&'a WorkspaceId>,
    owner: Option<&'a OwnerId>,
    tier: Option<Tier>,
    /// `not_connected` | `connected` | `paused` | `restricted` | `needs_reconnect` |
    /// `disconnected`.
    status: &'static str,
    pause_reason: Option<PauseReason>,
    paused_until: Option<DateTime<Utc>>,
    timezone: Option<&'a str>,
    working_hours: Option<String>,
    /// The sender's local day counted as today.
    day: NaiveDate,
    /// The latest event time the view has seen: its "now".
    as_of: Option<DateTime<Utc>>,
    invites_today: Use,
    messages_today: Use,
    invites_7d: Use,
    /// The limits the user set (the ones in force are each `limit` above).
    limits: Option<Limits>,
    warm_up: Option<bool>,
    warnings: u64,
    last_warning: Option<&'a WarningView>,
    last_action_at: Option<DateTime<Utc>>,
}

fn status(s: &SenderStatus) -> &'static str {
    match s {
        SenderStatus::NotConnected => "not_connected",
        SenderStatus::Connected => "connected",
        SenderStatus::Paused { .. } => "paused",
        SenderStatus::Restricted => "restricted",
        SenderStatus::NeedsReconnect => "needs_reconnect",
        SenderStatus::Disconnected => "disconnected",
    }
}

impl<'a> From<&'a SenderHealth> for AccountJson<'a> {
    fn from(s: &'a SenderHealth) -> Self {
        let cap = |f: fn(&Limits) -> u32| s.caps.as_ref().map(f);
        AccountJson {
            account_id: &s.account_id,
            workspace_id: s.workspace_id.as_ref(),
            owner: s.owner.as_ref(),
            tier: s.tier,
            status: status(&s.status),
            pause_reason: s.pause_reason,
            paused_until: match s.status {
                SenderStatus::Paused { until, .. } => until,
                _ => None,
            },
            timezone: s.timezone.as_deref(),
            working_hours: s.working_hours.as_ref().map(|(a, b)| format!("{a}-{b}")),
            day: s.usage.day,
            as_of: s.usage.as_of,
            invites_today: Use {
                used: s.usage.invites,
                limit: cap(|l| l.daily_invites),
            },
            messages_today: Use {
                used: s.usage.messages,
                limit: cap(|l| l.daily_messages),
            },
            invites_7d: Use {
                used: s.usage.weekly_invites,
                limit: cap(|l| l.weekly_invites),
            },
            limits: s.limits,
            warm_up: s.warm_up,
            warnings: s.warnings,
            last_warning: s.last_warning.as_ref(),
            last_action_at: s.last_action_at,
        }
    }
}

/// Runs `plera accounts`.
pub async fn run(url: &str, _args: &AccountsArgs, out: Output) -> Result<Finished, CliError> {
    let senders = with_views(
        url,
        true,
        |views| async move { Ok(views.senders(None).await?) },
    )
    .await?;
    let accounts: Vec<AccountJson<'_>> = senders.iter().map(AccountJson::from).collect();
    if out.json {
        out.json(&accounts)?;
        return Ok(Finished::Ok);
    }
    let used = |u: &Use| match u.limit {
        Some(limit) => format!("{}/{limit}", u.used),
        None => u.used.to_string(),
    };
    let rows = accounts
        .iter()
        .map(|a| {
            let pause = match (&a.pause_reason, &a.paused_until) {
                (Some(reason), Some(until)) => {
                    format!("{} until {}", tag(reason), until.format("%Y-%m-%d %H:%M"))
                }
                (Some(reason), None) => tag(reason),
                (None, _) => String::new(),
            };
            vec![
                a.account_id.to_string(),
                a.tier.as_ref().map(tag).unwrap_or_default(),
                a.status.to_string(),
                pause,
                a.day.to_string(),
                used(&a.invites_today),
                used(&a.messages_today),
                used(&a.invites_7d),
                a.warnings.to_string(),
            ]
        })
        .collect();
    eprintln!(
        "{}",
        table(
            &[
                "sender",
                "tier",
                "status",
                "pause",
                "today",
                "invites",
                "messages",
                "invites 7 days",
                "warnings"
            ],
            rows
        )
    );
    if let Some(as_of) = accounts.iter().filter_map(|a| a.as_of).max() {
        eprintln!(
            "use counted up to the latest event, {} UTC",
            as_of.format("%Y-%m-%d %H:%M")
        );
    }
    Ok(Finished::Ok)
}

/// The serde name of a unit enum (`rate_limited`, `sales_navigator`).
fn tag<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
