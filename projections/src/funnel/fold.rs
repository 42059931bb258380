//! The funnel fold: per-sequence facts, each counted once into the campaign, step and day rows.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use plera_domain::campaign::CampaignEvent;
use plera_domain::lead::{LeadSequenceEvent, StopReason};
use plera_domain::values::Channel;

use super::{CampaignFunnel, DayFunnel, FunnelSequence, StepFunnel};
use crate::envelope::{Decoded, Event};
use crate::rows::{KeyPart, Record};
use crate::stage::Stage;
use crate::time::{date, stamp};
use crate::{tag, ProjectionError};

/// Applies one event.
pub(super) fn apply(stage: &mut Stage<'_>, event: &Decoded) -> Result<(), ProjectionError> {
    match &event.event {
        Event::Campaign(CampaignEvent::CampaignCreated {
            workspace_id,
            campaign_id,
            name,
            play,
            at,
            ..
        }) => {
            let campaign = campaign_id.as_str();
            bump_campaign(stage, campaign, |c| {
                c.workspace_id
                    .get_or_insert_with(|| workspace_id.to_string());
                c.name = Some(name.clone());
                c.created_at = Some(stamp(*at));
            })?;
            for (i, play_step) in play.steps.iter().enumerate() {
                let step = i64::try_from(i).unwrap_or(i64::MAX);
                bump_step(stage, campaign, step, |s| {
                    s.workspace_id
                        .get_or_insert_with(|| workspace_id.to_string());
                    s.action.get_or_insert_with(|| tag(&play_step.action));
                })?;
            }
            Ok(())
        }
        Event::Lead(lead) => apply_lead(stage, event, lead),
        Event::Campaign(CampaignEvent::CampaignSendersChanged { .. })
        | Event::Sender(_)
        | Event::Workspace(_)
        | Event::Conversation(_) => Ok(()),
    }
}

fn apply_lead(
    stage: &mut Stage<'_>,
    event: &Decoded,
    lead: &LeadSequenceEvent,
) -> Result<(), ProjectionError> {
    use LeadSequenceEvent as E;
    let key = vec![KeyPart::from(event.aggregate_id.as_str())];
    let missed = stage.missing_reads();
    // Taken, not copied: every way out below puts it back.
    let found = stage.take::<FunnelSequence>(key)?;
    let unknown = stage.missing_reads() > missed;
    if let E::SequenceStarted {
        workspace_id,
        lead_id,
        campaign_id,
        account_id,
        at,
        ..
    } = lead
    {
        if let Some(seq) = found {
            stage.put_owned(seq);
            return Ok(());
        }
        if unknown {
            return Ok(());
        }
        let seq = FunnelSequence {
            sequence_id: event.aggregate_id.clone(),
            workspace_id: workspace_id.to_string(),
            campaign_id: campaign_id.to_string(),
            lead_id: lead_id.to_string(),
            account_id: account_id.to_string(),
            enrolled_at: stamp(*at),
            steps_started: "[]".into(),
            steps_sent: "[]".into(),
            invite_step: None,
            last_sent_step: None,
            contacted_linkedin: false,
            contacted_email: false,
            accepted: false,
            replied_channel: None,
            out_of_office: false,
            stop_reason: None,
            stopped_replied: false,
            completed: false,
        };
        let ws = seq.workspace_id.clone();
        bump_campaign(stage, campaign_id.as_str(), |c| {
            c.workspace_id.get_or_insert(ws);
            c.enrolled += 1;
        })?;
        bump_day(stage, &seq, *at, |d| d.enrolled += 1)?;
        stage.put_owned(seq);
        return Ok(());
    }
    // A sequence without its start (not loaded yet, or a log that lost it) counts nothing.
    let Some(mut seq) = found else {
        return Ok(());
    };
    let counted = count(stage, &mut seq, lead);
    stage.put_owned(seq);
    counted
}

/// Counts a sequence's event (other than its start) into its row and the counters.
fn count(
    stage: &mut Stage<'_>,
    seq: &mut FunnelSequence,
    lead: &LeadSequenceEvent,
) -> Result<(), ProjectionError> {
    use LeadSequenceEvent as E;
    let at = lead.at();
    match lead {
        E::SequenceStarted { .. } => {}
        E::StepStarted { step, action, .. } => {
            let step = i64::from(*step);
            let mut started = steps(&seq.steps_started)?;
            if started.insert(step) {
                seq.steps_started = steps_text(&started);
                bump_step_of(stage, seq, step, |s| {
                    s.action.get_or_insert_with(|| tag(action));
                    s.started += 1;
                })?;
            }
        }
        E::InviteSent { step, .. } => {
            if seq.invite_step.is_none() {
                let step = i64::from(*step);
                seq.invite_step = Some(step);
                sent(stage, seq, step, Channel::Linkedin)?;
                bump_campaign(stage, &seq.campaign_id, |c| c.invited += 1)?;
                bump_day(stage, seq, at, |d| d.invited += 1)?;
            }
        }
        E::InviteAccepted { .. } => {
            // An acceptance of an invite we did not send (already connected) is no conversion.
            if let (false, Some(step)) = (seq.accepted, seq.invite_step) {
                seq.accepted = true;
                bump_campaign(stage, &seq.campaign_id, |c| c.accepted += 1)?;
                bump_step_of(stage, seq, step, |s| s.accepted += 1)?;
                bump_day(stage, seq, at, |d| d.accepted += 1)?;
            }
        }
        E::MessageSent { step, .. } => {
            if sent(stage, seq, i64::from(*step), Channel::Linkedin)? {
                bump_campaign(stage, &seq.campaign_id, |c| c.messages += 1)?;
                bump_day(stage, seq, at, |d| d.messages += 1)?;
            }
        }
        E::EmailSent { step, .. } => {
            if sent(stage, seq, i64::from(*step), Channel::Email)? {
                bump_campaign(stage, &seq.campaign_id, |c| c.emails += 1)?;
                bump_day(stage, seq, at, |d| d.emails += 1)?;
            }
        }
        E::StepFailed {
            step,
            retryable: false,
            ..
        } => bump_step_of(stage, seq, i64::from(*step), |s| s.failed += 1)?,
        E::StepSkipped { step, .. } => {
            bump_step_of(stage, seq, i64::from(*step), |s| s.skipped += 1)?
        }
        E::StepFailed { .. } | E::StepOutcomeUnknown { .. } => {}
        E::ReplyReceived { channel, .. } => {
            if seq.replied_channel.is_none() {
                seq.replied_channel = Some(tag(channel));
                let on_linkedin = i64::from(*channel == Channel::Linkedin);
                let by_email = i64::from(*channel == Channel::Email);
                bump_campaign(stage, &seq.campaign_id, |c| {
                    c.replied += 1;
                    c.replied_linkedin += on_linkedin;
                    c.replied_email += by_email;
                })?;
                if let Some(step) = seq.last_sent_step {
                    bump_step_of(stage, seq, step, |s| {
                        s.replied += 1;
                        s.replied_linkedin += on_linkedin;
                        s.replied_email += by_email;
                    })?;
                }
                bump_day(stage, seq, at, |d| d.replied += 1)?;
            }
        }
        E::OutOfOfficeReceived { .. } => {
            if !seq.out_of_office {
                seq.out_of_office = true;
                bump_campaign(stage, &seq.campaign_id, |c| c.out_of_office += 1)?;
            }
        }
        E::SequenceStopped { reason, .. } => {
            if seq.stop_reason.is_none() {
                seq.stop_reason = Some(tag(reason));
                if *reason != StopReason::Replied {
                    bump_campaign(stage, &seq.campaign_id, |c| c.stopped_other += 1)?;
                }
            }
            if *reason == StopReason::Replied && !seq.stopped_replied {
                seq.stopped_replied = true;
                bump_campaign(stage, &seq.campaign_id, |c| c.stopped_replied += 1)?;
                if let Some(step) = seq.last_sent_step {
                    bump_step_of(stage, seq, step, |s| s.stopped_replied += 1)?;
                }
                bump_day(stage, seq, at, |d| d.stopped_replied += 1)?;
            }
        }
        E::SequenceCompleted { .. } => {
            if !seq.completed {
                seq.completed = true;
                bump_campaign(stage, &seq.campaign_id, |c| c.completed += 1)?;
                bump_day(stage, seq, at, |d| d.completed += 1)?;
            }
        }
    }
    Ok(())
}

/// Records that `step`'s message went out on `channel`; false if it was recorded before.
fn sent(
    stage: &mut Stage<'_>,
    seq: &mut FunnelSequence,
    step: i64,
    channel: Channel,
) -> Result<bool, ProjectionError> {
    let mut sent = steps(&seq.steps_sent)?;
    if !sent.insert(step) {
        return Ok(false);
    }
    seq.steps_sent = steps_text(&sent);
    seq.last_sent_step = Some(step);
    let first_contact = !seq.contacted_linkedin && !seq.contacted_email;
    let (new_linkedin, new_email) = match channel {
        Channel::Linkedin => (!seq.contacted_linkedin, false),
        Channel::Email => (false, !seq.contacted_email),
    };
    seq.contacted_linkedin |= new_linkedin;
    seq.contacted_email |= new_email;
    bump_campaign(stage, &seq.campaign_id, |c| {
        c.contacted += i64::from(first_contact);
        c.contacted_linkedin += i64::from(new_linkedin);
        c.contacted_email += i64::from(new_email);
    })?;
    bump_step_of(stage, seq, step, |s| s.sent += 1)?;
    Ok(true)
}

fn bump_campaign(
    stage: &mut Stage<'_>,
    campaign: &str,
    change: impl FnOnce(&mut CampaignFunnel),
) -> Result<(), ProjectionError> {
    let key = vec![KeyPart::from(campaign)];
    let new = || CampaignFunnel {
        campaign_id: campaign.to_string(),
        workspace_id: None,
        name: None,
        created_at: None,
        enrolled: 0,
        contacted: 0,
        contacted_linkedin: 0,
        contacted_email: 0,
        invited: 0,
        accepted: 0,
        acceptance_rate: None,
        messages: 0,
        emails: 0,
        replied: 0,
        replied_linkedin: 0,
        replied_email: 0,
        reply_rate: None,
        reply_rate_linkedin: None,
        reply_rate_email: None,
        out_of_office: 0,
        stopped_replied: 0,
        stopped_other: 0,
        completed: 0,
    };
    stage.update(key, new, |row| {
        change(row);
        row.acceptance_rate = rate(row.accepted, row.invited);
        row.reply_rate = rate(row.replied, row.contacted);
        row.reply_rate_linkedin = rate(row.replied_linkedin, row.contacted_linkedin);
        row.reply_rate_email = rate(row.replied_email, row.contacted_email);
    })
}

fn bump_step_of(
    stage: &mut Stage<'_>,
    seq: &FunnelSequence,
    step: i64,
    change: impl FnOnce(&mut StepFunnel),
) -> Result<(), ProjectionError> {
    bump_step(stage, &seq.campaign_id, step, |s| {
        s.workspace_id
            .get_or_insert_with(|| seq.workspace_id.clone());
        change(s);
    })
}

fn bump_step(
    stage: &mut Stage<'_>,
    campaign: &str,
    step: i64,
    change: impl FnOnce(&mut StepFunnel),
) -> Result<(), ProjectionError> {
    let key = vec![KeyPart::from(campaign), KeyPart::Int(step)];
    let new = || StepFunnel {
        campaign_id: campaign.to_string(),
        step,
        workspace_id: None,
        action: None,
        started: 0,
        sent: 0,
        failed: 0,
        skipped: 0,
        accepted: 0,
        acceptance_rate: None,
        replied: 0,
        replied_linkedin: 0,
        replied_email: 0,
        reply_rate: None,
        stopped_replied: 0,
    };
    stage.update(key, new, |row| {
        change(row);
        row.acceptance_rate = if row.action.as_deref() == Some("invite") {
            rate(row.accepted, row.sent)
        } else {
            None
        };
        row.reply_rate = rate(row.replied, row.sent);
    })
}

fn bump_day(
    stage: &mut Stage<'_>,
    seq: &FunnelSequence,
    at: DateTime<Utc>,
    change: impl FnOnce(&mut DayFunnel),
) -> Result<(), ProjectionError> {
    let day = date(at.date_naive());
    let key = vec![
        KeyPart::from(seq.campaign_id.as_str()),
        KeyPart::from(day.as_str()),
    ];
    let new = || DayFunnel {
        campaign_id: seq.campaign_id.clone(),
        day,
        workspace_id: Some(seq.workspace_id.clone()),
        enrolled: 0,
        invited: 0,
        accepted: 0,
        messages: 0,
        emails: 0,
        replied: 0,
        stopped_replied: 0,
        completed: 0,
    };
    stage.update(key, new, change)
}

/// `part / whole`, or `None` while nothing is in the whole.
fn rate(part: i64, whole: i64) -> Option<f64> {
    // Counts stay far below 2^53: the conversions are exact.
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn steps(text: &str) -> Result<BTreeSet<i64>, ProjectionError> {
    serde_json::from_str(text).map_err(|e| FunnelSequence::table().error(e.to_string()))
}

fn steps_text(steps: &BTreeSet<i64>) -> String {
    serde_json::to_string(steps).unwrap_or_else(|_| "[]".into())
}
