//! `plera funnel`: per campaign and per step of its play, how many leads started, were invited,
//! accepted, messaged, emailed, replied, and how many sequences a reply stopped.

use plera_domain::ids::CampaignId;
use plera_domain::values::Action;
use plera_projections::queries::{Funnel, FunnelStep, ViewQueries};
use serde::Serialize;

use super::args::FunnelArgs;
use super::error::CliError;
use super::output::{table, Output};
use super::views::with_views;
use super::Finished;

/// The counts of a campaign or of one of its steps.
#[derive(Serialize)]
struct Counts {
    /// Leads enrolled (campaign) or for whom the step started (step).
    started: u64,
    /// Invites sent.
    invited: u64,
    /// Invites accepted.
    accepted: u64,
    /// LinkedIn messages sent.
    messaged: u64,
    /// Emails sent.
    emailed: u64,
    /// Leads who replied (to the step: after its message was the latest sent).
    replied: u64,
    /// Sequences a reply stopped.
    stopped: u64,
}

/// One step as `--json` prints it.
#[derive(Serialize)]
struct StepJson {
    step: u32,
    action: Option<Action>,
    #[serde(flatten)]
    counts: Counts,
}

/// One campaign as `--json` prints it.
#[derive(Serialize)]
struct CampaignJson<'a> {
    campaign_id: &'a CampaignId,
    name: Option<&'a str>,
    #[serde(flatten)]
    counts: Counts,
    /// Sequences whose first stop had another reason (manual, opted out, ...).
    stopped_other: u64,
    completed: u64,
    steps: Vec<StepJson>,
}

impl<'a> From<&'a Funnel> for CampaignJson<'a> {
    fn from(f: &'a Funnel) -> Self {
        CampaignJson {
            campaign_id: &f.campaign_id,
            name: f.name.as_deref(),
            counts: Counts {
                started: f.enrolled,
                invited: f.invited,
                accepted: f.accepted,
                messaged: f.messaged,
                emailed: f.emailed,
                replied: f.replied,
                stopped: f.stopped,
            },
            stopped_other: f.stopped_other,
            completed: f.completed,
            steps: f.steps.iter().map(step).collect(),
        }
    }
}

fn step(s: &FunnelStep) -> StepJson {
    let sent_by = |action: Action| {
        if s.action == Some(action) {
            s.sent
        } else {
            0
        }
    };
    StepJson {
        step: s.step,
        action: s.action,
        counts: Counts {
            started: s.started,
            invited: sent_by(Action::Invite),
            accepted: s.accepted,
            messaged: sent_by(Action::Message),
            emailed: sent_by(Action::Email),
            replied: s.replied,
            stopped: s.stopped,
        },
    }
}

/// Runs `plera funnel`.
pub async fn run(url: &str, _args: &FunnelArgs, out: Output) -> Result<Finished, CliError> {
    let funnels = with_views(url, true, |views| async move {
        Ok(views.funnel(None, None).await?)
    })
    .await?;
    let campaigns: Vec<CampaignJson<'_>> = funnels.iter().map(CampaignJson::from).collect();
    if out.json {
        out.json(&campaigns)?;
        return Ok(Finished::Ok);
    }
    let line = |c: &Counts| {
        [
            c.started, c.invited, c.accepted, c.messaged, c.emailed, c.replied, c.stopped,
        ]
        .map(|n| n.to_string())
    };
    let mut rows = Vec::new();
    for campaign in &campaigns {
        let mut row = vec![
            campaign.campaign_id.to_string(),
            campaign.name.unwrap_or_default().to_string(),
            "all".to_string(),
        ];
        row.extend(line(&campaign.counts));
        rows.push(row);
        for s in &campaign.steps {
            let action = s.action.map(|a| format!(" {a:?}").to_lowercase());
            let mut row = vec![
                String::new(),
                String::new(),
                format!("{}{}", s.step, action.unwrap_or_default()),
            ];
            row.extend(line(&s.counts));
            rows.push(row);
        }
    }
    eprintln!(
        "{}",
        table(
            &[
                "campaign", "name", "step", "started", "invited", "accepted", "messaged",
                "emailed", "replied", "stopped"
            ],
            rows
        )
    );
    Ok(Finished::Ok)
}
