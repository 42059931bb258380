//! The simulated people and platform: every decision is a pure function of the seed and the names
//! of what it is about (lead, sender, purpose, step), never of the order calls arrive in, so a
//! concurrent engine sees the same world on every run with the same seed.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use plera_domain::ids::{AccountId, LeadId, ProviderMessageId};
use plera_domain::ports::StepKey;
use plera_domain::seed::{mix, unit};

use super::config::SandboxConfig;
use super::faults;
use super::texts;

/// Share of out-of-office texts that announce a return date.
const OOO_WITH_DATE: f64 = 2.0 / 3.0;

/// A uniform draw in `[0, 1)` named by `labels`.
fn draw(seed: u64, labels: &[&str]) -> f64 {
    unit(mix(seed, labels))
}

/// A duration of `max` scaled by a uniform draw.
fn scaled(max: Duration, u: f64) -> Duration {
    Duration::milliseconds((max.num_milliseconds() as f64 * u).round() as i64)
}

/// What a lead does with an invite.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct InvitePlan {
    /// When the lead accepts (the relation exists from then on), if ever.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When the provider tells us about the acceptance (possibly hours later).
    pub notified_at: Option<DateTime<Utc>>,
    /// The lead's answer after connecting, if any.
    pub reply: Option<PlannedReply>,
}

/// An answer a lead will send.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PlannedReply {
    /// When the provider receives it.
    pub at: DateTime<Utc>,
    /// Its provider id, unique per prompting action.
    pub message_id: ProviderMessageId,
    /// What the lead writes (an out-of-office text reads as one).
    pub text: String,
}

/// Decides the fate of an invite from `account` to `lead` sent at `sent_at`.
pub(crate) fn plan_invite(
    config: &SandboxConfig,
    lead: &LeadId,
    account: &AccountId,
    with_note: bool,
    sent_at: DateTime<Utc>,
) -> InvitePlan {
    let (l, a, seed) = (lead.as_str(), account.as_str(), config.seed);
    if draw(seed, &[l, a, "accept"]) >= config.acceptance_rate {
        return InvitePlan {
            accepted_at: None,
            notified_at: None,
            reply: None,
        };
    }
    let accepted_at = sent_at
        + config
            .acceptance_delay
            .sample(draw(seed, &[l, a, "accept-delay"]));
    let late = if draw(seed, &[l, a, "accept-late"]) < config.late_notification_share {
        scaled(
            config.late_notification_max,
            draw(seed, &[l, a, "accept-late-by"]),
        )
    } else {
        Duration::zero()
    };
    let rate = if with_note {
        config.reply_rate_after_accept_with_note
    } else {
        config.reply_rate_after_accept_without_note
    };
    InvitePlan {
        accepted_at: Some(accepted_at),
        notified_at: Some(accepted_at + late),
        reply: plan_reply(config, &[l, a, "reply-after-accept"], rate, accepted_at),
    }
}

/// Whether and how a lead answers a direct message or an email (`labels` name the lead, the
/// sender or mailbox, the purpose and the step), counting delays from `from`.
pub(crate) fn plan_reply(
    config: &SandboxConfig,
    labels: &[&str],
    rate: f64,
    from: DateTime<Utc>,
) -> Option<PlannedReply> {
    let seed = config.seed;
    let sub = |purpose: &'static str| -> Vec<&str> {
        let mut all = labels.to_vec();
        all.push(purpose);
        all
    };
    if draw(seed, &sub("reply")) >= rate {
        return None;
    }
    let message_id = ProviderMessageId::new(format!("msg-{:016x}", mix(seed, &sub("id"))));
    let text_draw = draw(seed, &sub("text"));
    if draw(seed, &sub("out-of-office")) < config.out_of_office_rate {
        return Some(out_of_office(seed, &sub, message_id, text_draw, from));
    }
    Some(PlannedReply {
        at: from + config.reply_delay.sample(draw(seed, &sub("delay"))),
        message_id,
        text: texts::reply(text_draw),
    })
}

/// An out-of-office auto-reply (`sub` names its draws), fired within minutes of `from`.
fn out_of_office<'a>(
    seed: u64,
    sub: &dyn Fn(&'static str) -> Vec<&'a str>,
    message_id: ProviderMessageId,
    text_draw: f64,
    from: DateTime<Utc>,
) -> PlannedReply {
    // Auto-replies fire within minutes, whatever the lead's habits.
    let at = from + Duration::minutes(1) + scaled(Duration::minutes(29), draw(seed, &sub("delay")));
    let returns = (draw(seed, &sub("has-return")) < OOO_WITH_DATE).then(|| {
        let days = 2 + (draw(seed, &sub("return")) * 20.0) as i64;
        (at + Duration::days(days)).date_naive()
    });
    PlannedReply {
        at,
        message_id,
        text: texts::out_of_office(text_draw, returns),
    }
}

/// The out-of-office auto-reply a flaky world adds to the message or email named by `labels`
/// (lead, sender or mailbox, purpose, step), besides any real answer; its own message id.
pub(crate) fn plan_auto_reply(
    config: &SandboxConfig,
    labels: &[&str],
    from: DateTime<Utc>,
) -> Option<PlannedReply> {
    if !faults::auto_replies(config.seed, config.fault_rate, &config.faults, labels) {
        return None;
    }
    let seed = config.seed;
    let sub = |purpose: &'static str| -> Vec<&str> {
        let mut all = labels.to_vec();
        all.push("auto-reply");
        all.push(purpose);
        all
    };
    let message_id = ProviderMessageId::new(format!("msg-{:016x}", mix(seed, &sub("id"))));
    let text_draw = draw(seed, &sub("text"));
    Some(out_of_office(seed, &sub, message_id, text_draw, from))
}

/// The instant `account`'s session expires on `day` (UTC), if it does; drawn from the seed, the
/// account and the day alone, so that how busy the account is cannot move it.
pub(crate) fn session_expiry_on(
    seed: u64,
    rate: f64,
    account: &AccountId,
    day: NaiveDate,
) -> Option<DateTime<Utc>> {
    incident_on(seed, rate, account, day, Incident::SessionExpiry)
}

/// Something that happens to an account at most once a day, at an instant drawn for the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Incident {
    /// Its session expires.
    SessionExpiry,
    /// LinkedIn restricts it out of the blue.
    Restriction,
}

impl Incident {
    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Incident::SessionExpiry => ("session-expiry", "session-expiry-at"),
            Incident::Restriction => ("restriction", "restriction-at"),
        }
    }
}

/// The instant `incident` happens to `account` on `day` (UTC), if it does.
pub(crate) fn incident_on(
    seed: u64,
    rate: f64,
    account: &AccountId,
    day: NaiveDate,
    incident: Incident,
) -> Option<DateTime<Utc>> {
    let (a, d) = (account.as_str(), day.to_string());
    let (whether, when) = incident.labels();
    if draw(seed, &[a, &d, whether]) >= rate {
        return None;
    }
    let start = day.and_time(NaiveTime::MIN).and_utc();
    Some(start + scaled(Duration::days(1), draw(seed, &[a, &d, when])))
}

/// The provider's id for what it created for `action`/`key` (`prefix-<hash>`).
pub(crate) fn provider_id(seed: u64, prefix: &str, action: &str, key: &StepKey) -> String {
    format!(
        "{prefix}-{:016x}",
        mix(seed, &[action, &key.to_string(), "receipt"])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_expiry_rate_and_instant_follow_the_draws() {
        let day0 = NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date");
        let mut expired = 0;
        for account in 0..100 {
            let account = AccountId::new(format!("acc-{account}"));
            for offset in 0..200 {
                let day = day0 + Duration::days(offset);
                if let Some(at) = session_expiry_on(9, 0.01, &account, day) {
                    expired += 1;
                    assert_eq!(at.date_naive(), day);
                    assert_eq!(session_expiry_on(9, 0.01, &account, day), Some(at));
                }
            }
        }
        // 20,000 account-days at 1 %: 200 expected, standard deviation ~14.
        assert!((150..=250).contains(&expired), "{expired} expiries");
    }
}
