//! The sender fold: every sender's state for the batch, then each sender's row at `as_of`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use cqrs_es::Aggregate;
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::quota::usage::RETENTION;
use plera_domain::quota::window::local_day;
use plera_domain::quota::{warm_up, ActionLog};
use plera_domain::sender::{SenderAccount, SenderAccountEvent, SenderStatus};
use plera_domain::values::Action;
use serde::{Deserialize, Serialize};

use super::{ClockRow, SenderRow, WarningRow};
use crate::envelope::{Decoded, Event};
use crate::rows::{KeyPart, Record};
use crate::stage::{Outcome, Snapshot, Stage};
use crate::time::{date, parse_stamp, stamp};
use crate::{tag, ProjectionError};

/// The LinkedIn actions a sender started recently, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct RecentActions {
    invites: Vec<DateTime<Utc>>,
    messages: Vec<DateTime<Utc>>,
}

/// What the fold keeps per sender between batches (in the row itself).
#[derive(Clone, Debug, Default)]
struct SenderFold {
    account: SenderAccount,
    recent: RecentActions,
    last_action_at: Option<String>,
    warnings: i64,
    last_warning_kind: Option<String>,
    last_warning_at: Option<String>,
}

/// Folds a batch.
pub(super) fn apply(events: &[Decoded], rows: &Snapshot) -> Result<Outcome, ProjectionError> {
    let mut stage = Stage::new(rows);
    let clock = stage.get::<ClockRow>(vec![KeyPart::Int(1)])?;
    let stored = stage.scan::<SenderRow>(Vec::new())?;
    if stage.is_missing_rows() {
        return Ok(stage.finish());
    }
    let mut as_of = clock.and_then(|c| parse_stamp(&c.as_of));
    let mut senders = BTreeMap::new();
    for row in stored {
        senders.insert(row.account_id.clone(), SenderFold::from_row(&row)?);
    }
    for event in events {
        let at = event.event.at();
        as_of = Some(as_of.map_or(at, |t| t.max(at)));
        match &event.event {
            Event::Sender(e) => {
                let sender: &mut SenderFold =
                    senders.entry(event.aggregate_id.clone()).or_default();
                if let SenderAccountEvent::WarningReceived { kind, detail, at } = e {
                    stage.put_owned(WarningRow {
                        account_id: event.aggregate_id.clone(),
                        position: i64::try_from(event.position).unwrap_or(i64::MAX),
                        workspace_id: sender.account.workspace_id().map(ToString::to_string),
                        kind: tag(kind),
                        detail: detail.clone(),
                        at: stamp(*at),
                    });
                    sender.warnings += 1;
                    sender.last_warning_kind = Some(tag(kind));
                    sender.last_warning_at = Some(stamp(*at));
                }
                sender.account.apply(e.clone());
            }
            Event::Lead(LeadSequenceEvent::StepStarted {
                action,
                account_id: Some(account),
                at,
                ..
            }) if action.is_linkedin() => {
                let sender = senders.entry(account.to_string()).or_default();
                sender.record(*action, *at);
            }
            _ => {}
        }
    }
    let Some(as_of) = as_of else {
        return Ok(stage.finish());
    };
    stage.put_owned(ClockRow {
        id: 1,
        as_of: stamp(as_of),
    });
    for (account_id, mut sender) in senders {
        sender.prune(as_of);
        stage.put_owned(sender.row(account_id, as_of)?);
    }
    Ok(stage.finish())
}

impl SenderFold {
    fn from_row(row: &SenderRow) -> Result<Self, ProjectionError> {
        let bad = |e: serde_json::Error| SenderRow::table().error(e.to_string());
        Ok(Self {
            account: serde_json::from_str(&row.account_state).map_err(bad)?,
            recent: serde_json::from_str(&row.recent_actions).map_err(bad)?,
            last_action_at: row.last_action_at.clone(),
            warnings: row.warnings,
            last_warning_kind: row.last_warning_kind.clone(),
            last_warning_at: row.last_warning_at.clone(),
        })
    }

    fn record(&mut self, action: Action, at: DateTime<Utc>) {
        let list = match action {
            Action::Invite => &mut self.recent.invites,
            Action::Message => &mut self.recent.messages,
            Action::Email => return,
        };
        list.insert(list.partition_point(|t| *t <= at), at);
        let stamped = stamp(at);
        if self.last_action_at.as_ref().is_none_or(|l| *l < stamped) {
            self.last_action_at = Some(stamped);
        }
    }

    /// Forgets actions no count at `as_of` can need; what is kept depends on `as_of` only, so
    /// the rows do not depend on how the log was batched.
    fn prune(&mut self, as_of: DateTime<Utc>) {
        let Some(horizon) = as_of.checked_sub_signed(RETENTION) else {
            return;
        };
        for list in [&mut self.recent.invites, &mut self.recent.messages] {
            let old = list.partition_point(|t| *t < horizon);
            list.drain(..old);
        }
    }

    fn row(&self, account_id: String, as_of: DateTime<Utc>) -> Result<SenderRow, ProjectionError> {
        let bad = |e: serde_json::Error| SenderRow::table().error(e.to_string());
        let account = &self.account;
        let tz = account.timezone().unwrap_or(Tz::UTC);
        let day = local_day(tz, as_of);
        let mut log = ActionLog::new();
        for at in &self.recent.invites {
            log.record(Action::Invite, *at);
        }
        for at in &self.recent.messages {
            log.record(Action::Message, *at);
        }
        let invites_today = log.invites_on(day, tz);
        let messages_today = log.messages_on(day, tz);
        let invites_7d = log.invites_in_rolling_week(as_of);
        let caps = account.connection().map(|c| {
            warm_up::effective_limits(c.limits, c.warm_up, c.connected_at, as_of, c.timezone)
        });
        let readiness = account.readiness_at(as_of);
        let ready_invite = readiness.invite
            && caps
                .is_some_and(|c| invites_today < c.daily_invites && invites_7d < c.weekly_invites);
        let ready_message =
            readiness.message && caps.is_some_and(|c| messages_today < c.daily_messages);
        let pause = account.pause();
        let limits = account.limits();
        Ok(SenderRow {
            account_id,
            workspace_id: account.workspace_id().map(ToString::to_string),
            owner: account.owner().map(ToString::to_string),
            tier: account.tier().map(|t| tag(&t)),
            status: status_tag(&account.status()),
            pause_reason: pause.map(|p| tag(&p.reason)),
            paused_until: pause.and_then(|p| p.until).map(stamp),
            paused_since: pause.map(|p| stamp(p.since)),
            timezone: account.timezone().map(|tz| tz.name().to_string()),
            working_hours_start: account
                .working_hours()
                .map(|h| h.start().format("%H:%M").to_string()),
            working_hours_end: account
                .working_hours()
                .map(|h| h.end().format("%H:%M").to_string()),
            warm_up: account.warm_up(),
            daily_invites: limits.map(|l| i64::from(l.daily_invites)),
            daily_messages: limits.map(|l| i64::from(l.daily_messages)),
            weekly_invites: limits.map(|l| i64::from(l.weekly_invites)),
            cap_daily_invites: caps.map(|l| i64::from(l.daily_invites)),
            cap_daily_messages: caps.map(|l| i64::from(l.daily_messages)),
            cap_weekly_invites: caps.map(|l| i64::from(l.weekly_invites)),
            ready_invite,
            ready_message,
            usage_day: date(day),
            invites_today: i64::from(invites_today),
            messages_today: i64::from(messages_today),
            invites_7d: i64::from(invites_7d),
            last_action_at: self.last_action_at.clone(),
            warnings: self.warnings,
            last_warning_kind: self.last_warning_kind.clone(),
            last_warning_at: self.last_warning_at.clone(),
            connected_at: account.connected_at().map(stamp),
            disconnected_at: account.disconnected_at().map(stamp),
            account_state: serde_json::to_string(account).map_err(bad)?,
            recent_actions: serde_json::to_string(&self.recent).map_err(bad)?,
        })
    }
}

/// The status's tag alone (`paused`); its reason and end have columns of their own.
pub(crate) fn status_tag(status: &SenderStatus) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::Object(map)) => map
            .get("status")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}
