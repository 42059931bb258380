//! The flaky provider: what can go wrong with a send, with a LinkedIn account and with a
//! notification, each with a chance of `fault_rate × weight`. Every draw is named by what it is
//! about (the send's key and attempt, the account and day, the notification's own key), never by
//! the order calls arrive in.

use chrono::{DateTime, Duration, Utc};
use plera_domain::ports::{GatewayError, GatewayErrorKind, StepKey};
use plera_domain::seed::{mix, unit};

/// The shape of the faults: how likely each kind is relative to `SandboxConfig::fault_rate`, and
/// how far deliveries are pushed back. With `fault_rate` 0 none of it happens.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultModel {
    /// Per send attempt: a 5xx before the provider did anything (`network_down`).
    pub transient: f64,
    /// Per send attempt: the provider acted (or refused) and the answer was lost (a timeout after
    /// the action really happened).
    pub lost_answer: f64,
    /// Per send attempt: the call timed out before it reached LinkedIn (nothing happened, but the
    /// caller cannot tell that from a lost answer).
    pub unanswered: f64,
    /// Per LinkedIn send attempt: 429 `too_many_requests`.
    pub too_many_requests: f64,
    /// Per LinkedIn send attempt: LinkedIn's own `limit_exceeded`, below the published caps.
    pub limit_exceeded: f64,
    /// Per LinkedIn send attempt: `cannot_resend_yet` meaning a temporary limit on the account.
    pub temporary_limit: f64,
    /// Per invite attempt: `cannot_resend_yet` meaning "not this person for now".
    pub lead_not_yet: f64,
    /// Per account and (UTC) day: an extra session expiry, on top of
    /// `session_expiry_per_account_day`.
    pub session_expiry: f64,
    /// Per account and (UTC) day: LinkedIn restricts the account out of the blue, for the
    /// restriction policy's duration.
    pub restriction: f64,
    /// Per message or email a lead receives: an out-of-office auto-reply, besides any answer.
    pub auto_reply: f64,
    /// Per notification: delivered more than once (2 to `max_deliveries` times, same content,
    /// same provider message id).
    pub duplicate: f64,
    /// The most deliveries of one notification (the provider retries up to 5 times: 6 in all).
    pub max_deliveries: u32,
    /// How long after the first delivery the repeats come, at most.
    pub duplicate_spread: Duration,
    /// Per message or acceptance notification: never delivered (only polling finds it).
    /// Account-status notices are never dropped: the simulated owner reconnects on them.
    pub dropped: f64,
    /// Per notification: held back a little, so that later ones overtake it.
    pub held_back: f64,
    /// The longest hold-back.
    pub held_back_max: Duration,
    /// Per notification: delivered hours late.
    pub late: f64,
    /// The shortest delay of a late delivery.
    pub late_min: Duration,
    /// The longest delay of a late delivery.
    pub late_max: Duration,
}

impl Default for FaultModel {
    /// Weights chosen so that `fault_rate` 0.1 gives 5 % transient failures and 5 % lost answers
    /// (as before these finer faults existed), a few 429s a week per busy account, about one
    /// restriction per account per half-year, and every tenth notification repeated.
    fn default() -> Self {
        Self {
            transient: 0.5,
            lost_answer: 0.5,
            unanswered: 0.2,
            too_many_requests: 0.05,
            limit_exceeded: 0.02,
            temporary_limit: 0.02,
            lead_not_yet: 0.05,
            session_expiry: 0.1,
            restriction: 0.05,
            auto_reply: 0.2,
            duplicate: 1.0,
            max_deliveries: 6,
            duplicate_spread: Duration::hours(1),
            dropped: 0.3,
            held_back: 0.5,
            held_back_max: Duration::minutes(30),
            late: 0.3,
            late_min: Duration::hours(1),
            late_max: Duration::hours(12),
        }
    }
}

/// What the provider does to one attempt of a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendFault {
    /// The call goes through.
    None,
    /// A 5xx before anything happened.
    Transient,
    /// The work is done (or refused) but the answer is lost.
    LostAnswer,
    /// A timeout before the request reached LinkedIn.
    Unanswered,
    /// 429.
    TooManyRequests,
    /// `limit_exceeded`.
    LimitExceeded,
    /// `cannot_resend_yet`, the account's temporary limit.
    TemporaryLimit,
    /// `cannot_resend_yet`, this recipient not yet (invites only).
    LeadNotYet,
}

impl SendFault {
    /// The answer of a fault that does nothing; `None` for a call that goes through and for a
    /// lost answer (which does the work first).
    pub fn refusal(self) -> Option<GatewayError> {
        use GatewayErrorKind as K;
        let (kind, detail) = match self {
            SendFault::None | SendFault::LostAnswer => return None,
            SendFault::Transient => (
                K::Transient,
                "network_down: the provider could not be reached",
            ),
            SendFault::Unanswered => (K::Timeout, "the request timed out"),
            SendFault::TooManyRequests => (
                K::TooManyRequests,
                "too_many_requests: slow down, too many requests for this account",
            ),
            SendFault::LimitExceeded => (
                K::LimitExceeded,
                "limit_exceeded: LinkedIn refused the action, the account reached a limit",
            ),
            SendFault::TemporaryLimit => (
                K::TemporaryProviderLimit,
                "cannot_resend_yet: Temporary provider limit",
            ),
            SendFault::LeadNotYet => (
                K::CannotInviteLeadYet,
                "cannot_resend_yet: Delay new invitation to this recipient",
            ),
        };
        Some(GatewayError::new(kind, detail))
    }
}

/// The channel a send goes through decides which faults it can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendKind {
    /// A LinkedIn invite: every fault.
    Invite,
    /// A LinkedIn message: every fault but "not this person yet".
    Message,
    /// An email: network faults only.
    Email,
}

impl SendKind {
    /// The name draws and attempts are keyed by (the same as before the finer faults existed,
    /// so that a seed keeps its transient failures and lost answers).
    pub fn label(self) -> &'static str {
        match self {
            SendKind::Invite => "invite",
            SendKind::Message => "message",
            SendKind::Email => "email",
        }
    }
}

/// A uniform draw in `[0, 1)` named by `labels`.
pub(crate) fn draw(seed: u64, labels: &[&str]) -> f64 {
    unit(mix(seed, labels))
}

/// A duration between `lo` and `hi` picked by a uniform draw.
fn between(lo: Duration, hi: Duration, u: f64) -> Duration {
    let (a, b) = (lo.num_milliseconds() as f64, hi.num_milliseconds() as f64);
    Duration::milliseconds((a + (b - a).max(0.0) * u).round() as i64)
}

/// The chances of one draw, in order, scaled by `rate` and shrunk together when they would sum
/// past 1 (so that a rate of 1 is a valid, if hostile, world).
fn scaled<const N: usize>(rate: f64, weights: [f64; N]) -> [f64; N] {
    let rate = rate.clamp(0.0, 1.0);
    let mut chances = weights.map(|w| (w.max(0.0)) * rate);
    let total: f64 = chances.iter().sum();
    if total > 1.0 {
        chances = chances.map(|c| c / total);
    }
    chances
}

/// The fault of attempt `attempt` of the send `kind`/`key`.
pub(crate) fn send_fault(
    seed: u64,
    rate: f64,
    model: &FaultModel,
    kind: SendKind,
    key: &StepKey,
    attempt: u32,
) -> SendFault {
    let u = draw(
        seed,
        &[
            kind.label(),
            &key.to_string(),
            &attempt.to_string(),
            "fault",
        ],
    );
    let linkedin = kind != SendKind::Email;
    let invite = kind == SendKind::Invite;
    let outcomes = [
        (SendFault::Transient, model.transient),
        (SendFault::LostAnswer, model.lost_answer),
        (SendFault::Unanswered, model.unanswered),
        (
            SendFault::TooManyRequests,
            if linkedin {
                model.too_many_requests
            } else {
                0.0
            },
        ),
        (
            SendFault::LimitExceeded,
            if linkedin { model.limit_exceeded } else { 0.0 },
        ),
        (
            SendFault::TemporaryLimit,
            if linkedin { model.temporary_limit } else { 0.0 },
        ),
        (
            SendFault::LeadNotYet,
            if invite { model.lead_not_yet } else { 0.0 },
        ),
    ];
    let chances = scaled(rate, outcomes.map(|(_, w)| w));
    let mut below = 0.0;
    for ((fault, _), chance) in outcomes.iter().zip(chances) {
        below += chance;
        if u < below {
            return *fault;
        }
    }
    SendFault::None
}

/// Whether the lead answers the action named by `labels` with an extra out-of-office reply.
pub(crate) fn auto_replies(seed: u64, rate: f64, model: &FaultModel, labels: &[&str]) -> bool {
    let [chance] = scaled(rate, [model.auto_reply]);
    let mut all = labels.to_vec();
    all.push("auto-reply");
    draw(seed, &all) < chance
}

/// What the provider does to one notification.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DeliveryPlan {
    /// When each delivery happens (empty when the notification is dropped), earliest first.
    pub deliveries: Vec<DateTime<Utc>>,
}

/// The deliveries of the notification `key` due at `at`. `droppable` is false for notices the
/// simulation cannot do without.
pub(crate) fn delivery_plan(
    seed: u64,
    rate: f64,
    model: &FaultModel,
    key: &str,
    at: DateTime<Utc>,
    droppable: bool,
) -> DeliveryPlan {
    let stamp = at.to_rfc3339();
    let d = |purpose: &str| draw(seed, &[key, &stamp, "delivery", purpose]);
    let [duplicate, dropped, held_back, late] = scaled(
        rate,
        [model.duplicate, model.dropped, model.held_back, model.late],
    );
    if droppable && d("dropped") < dropped {
        return DeliveryPlan {
            deliveries: Vec::new(),
        };
    }
    let mut first = at;
    if d("late") < late {
        first += between(model.late_min, model.late_max, d("late-by"));
    }
    if d("held-back") < held_back {
        first += between(Duration::minutes(1), model.held_back_max, d("held-back-by"));
    }
    let mut deliveries = vec![first];
    if model.max_deliveries > 1 && d("duplicate") < duplicate {
        let extra = 1 + (d("copies") * f64::from(model.max_deliveries - 1)) as u32;
        let extra = extra.min(model.max_deliveries - 1);
        for copy in 0..extra {
            let u = draw(seed, &[key, &stamp, "delivery", "copy", &copy.to_string()]);
            deliveries.push(first + between(Duration::seconds(30), model.duplicate_spread, u));
        }
    }
    deliveries.sort();
    DeliveryPlan { deliveries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use plera_domain::ids::SequenceId;

    fn key(i: u32) -> StepKey {
        StepKey {
            sequence: SequenceId::new(format!("s-{i}")),
            step: 0,
        }
    }

    #[test]
    fn a_zero_rate_never_faults_and_a_full_rate_always_does() {
        let model = FaultModel::default();
        for i in 0..2_000 {
            for kind in [SendKind::Invite, SendKind::Message, SendKind::Email] {
                assert_eq!(
                    send_fault(1, 0.0, &model, kind, &key(i), 0),
                    SendFault::None
                );
                assert_ne!(
                    send_fault(1, 1.0, &model, kind, &key(i), 0),
                    SendFault::None
                );
            }
        }
    }

    #[test]
    fn emails_meet_network_faults_only_and_messages_no_recipient_refusal() {
        let model = FaultModel::default();
        for i in 0..4_000 {
            let email = send_fault(2, 1.0, &model, SendKind::Email, &key(i), 0);
            assert!(matches!(
                email,
                SendFault::Transient | SendFault::LostAnswer | SendFault::Unanswered
            ));
            let message = send_fault(2, 1.0, &model, SendKind::Message, &key(i), 0);
            assert_ne!(message, SendFault::LeadNotYet);
        }
    }

    #[test]
    fn the_old_split_of_transient_and_lost_answers_is_kept() {
        // Before the finer faults, u < rate/2 was transient and u < rate a lost answer; the
        // same draws keep the same meaning so that a seed's runs stay comparable.
        let model = FaultModel::default();
        for i in 0..4_000 {
            let k = key(i);
            let u = draw(3, &["invite", &k.to_string(), "0", "fault"]);
            let fault = send_fault(3, 0.2, &model, SendKind::Invite, &k, 0);
            if u < 0.1 {
                assert_eq!(fault, SendFault::Transient);
            } else if u < 0.2 {
                assert_eq!(fault, SendFault::LostAnswer);
            } else {
                assert!(!matches!(
                    fault,
                    SendFault::Transient | SendFault::LostAnswer
                ));
            }
        }
    }

    #[test]
    fn deliveries_never_precede_the_event_and_stay_within_the_bounds() {
        let model = FaultModel::default();
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let bound = model.late_max + model.held_back_max + model.duplicate_spread;
        let mut copies = 0;
        for i in 0..5_000 {
            let plan = delivery_plan(4, 1.0, &model, &format!("n-{i}"), at, true);
            assert!(plan.deliveries.len() <= model.max_deliveries as usize);
            assert!(plan.deliveries.windows(2).all(|w| w[0] <= w[1]));
            assert!(plan.deliveries.iter().all(|d| at <= *d && *d <= at + bound));
            copies = copies.max(plan.deliveries.len());
            let kept = delivery_plan(4, 1.0, &model, &format!("n-{i}"), at, false);
            assert!(!kept.deliveries.is_empty(), "undroppable notices arrive");
        }
        assert_eq!(copies, model.max_deliveries as usize);
        let calm = delivery_plan(4, 0.0, &model, "n-1", at, true);
        assert_eq!(calm.deliveries, vec![at]);
    }
}
