//! `plera inbox`: the unified inbox, most recent thread first. `--json` prints the threads in
//! DESIGN §8's shape and nothing more: `{ lead_id, account_id, campaign_id, unread, messages:
//! [ { direction, channel, at, text } ] }`.

use chrono::{DateTime, Utc};
use plera_domain::ids::{AccountId, CampaignId, LeadId};
use plera_domain::values::Channel;
use plera_projections::inbox::Direction;
use plera_projections::queries::{InboxFilter, Thread, ViewQueries};
use serde::Serialize;

use super::args::InboxArgs;
use super::error::CliError;
use super::output::{table, Output};
use super::views::{excerpt, with_views};
use super::Finished;

/// Characters of the latest message the table shows.
const EXCERPT: usize = 60;

/// One thread as `--json` prints it.
#[derive(Serialize)]
struct ThreadJson<'a> {
    lead_id: &'a LeadId,
    account_id: Option<&'a AccountId>,
    campaign_id: Option<&'a CampaignId>,
    unread: u64,
    messages: Vec<MessageJson<'a>>,
}

/// One message as `--json` prints it.
#[derive(Serialize)]
struct MessageJson<'a> {
    direction: Direction,
    channel: Channel,
    at: DateTime<Utc>,
    text: &'a str,
}

impl<'a> From<&'a Thread> for ThreadJson<'a> {
    fn from(t: &'a Thread) -> Self {
        ThreadJson {
            lead_id: &t.lead_id,
            account_id: t.account_id.as_ref(),
            campaign_id: t.campaign_id.as_ref(),
            unread: t.unread,
            messages: t
                .messages
                .iter()
                .map(|m| MessageJson {
                    direction: m.direction,
                    channel: m.channel,
                    at: m.at,
                    text: &m.text,
                })
                .collect(),
        }
    }
}

/// Runs `plera inbox`.
pub async fn run(url: &str, args: &InboxArgs, out: Output) -> Result<Finished, CliError> {
    let filter = InboxFilter {
        account: args.account.as_deref().map(AccountId::new),
        unread_only: args.unread,
        limit: args.limit.map(|n| n as usize),
        ..InboxFilter::default()
    };
    let threads = with_views(
        url,
        true,
        |views| async move { Ok(views.inbox(&filter).await?) },
    )
    .await?;
    if out.json {
        let json: Vec<ThreadJson<'_>> = threads.iter().map(ThreadJson::from).collect();
        out.json(&json)?;
        return Ok(Finished::Ok);
    }
    let rows = threads
        .iter()
        .map(|t| {
            let last = t.messages.last();
            vec![
                t.lead_id.to_string(),
                t.account_id
                    .as_ref()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                t.campaign_id
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                t.unread.to_string(),
                t.messages.len().to_string(),
                t.last_at.format("%Y-%m-%d %H:%M").to_string(),
                last.map(|m| {
                    let arrow = match m.direction {
                        Direction::Inbound => "<-",
                        Direction::Outbound => "->",
                    };
                    format!("{arrow} {} {}", m.channel, excerpt(&m.text, EXCERPT))
                })
                .unwrap_or_default(),
            ]
        })
        .collect();
    eprintln!(
        "{}",
        table(
            &[
                "lead",
                "sender",
                "campaign",
                "unread",
                "messages",
                "last (UTC)",
                "latest"
            ],
            rows
        )
    );
    let unread: u64 = threads.iter().map(|t| t.unread).sum();
    eprintln!("{} threads, {unread} unread messages", threads.len());
    Ok(Finished::Ok)
}
