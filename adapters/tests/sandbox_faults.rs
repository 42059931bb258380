//! The sandbox's fault model through its public API: every fault shows up at about its rate,
//! cannot_resend_yet comes in both meanings, restrictions out of the blue refuse sends for their
//! duration, notifications are repeated (with the same provider message id), dropped, held back
//! and late, polling finds everything notifications lost, and the same seed gives the same world
//! whatever the order of the calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_actors::VirtualClock;
use plera_adapters::sandbox::{
    Delivery, FaultModel, ProviderCaps, SandboxConfig, SandboxLead, SandboxWorld, TierCaps,
};
use plera_domain::ids::{AccountId, LeadId, MailboxId, ProviderAccountId, SequenceId};
use plera_domain::ports::{
    Clock, EmailGateway, EmailRequest, GatewayErrorKind, InboundEvent, InviteRequest,
    LinkedInGateway, MessageRequest, StepKey,
};
use plera_domain::values::Tier;

/// Monday 2 March 2026, 09:00 UTC.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// A world without LinkedIn's caps or spontaneous session expiries: what is left is the faults.
fn faulty(seed: u64, fault_rate: f64, faults: FaultModel) -> SandboxConfig {
    let huge = TierCaps {
        daily_invites: 1_000_000,
        weekly_invites: 1_000_000,
        daily_messages: 1_000_000,
    };
    SandboxConfig {
        fault_rate,
        faults,
        session_expiry_per_account_day: 0.0,
        caps: ProviderCaps {
            free: huge,
            premium: huge,
        },
        ..SandboxConfig::seeded(seed)
    }
}

/// Faults of sends only: no incidents on accounts, nothing done to notifications.
fn sends_only() -> FaultModel {
    FaultModel {
        session_expiry: 0.0,
        restriction: 0.0,
        auto_reply: 0.0,
        duplicate: 0.0,
        dropped: 0.0,
        held_back: 0.0,
        late: 0.0,
        ..FaultModel::default()
    }
}

fn world(config: SandboxConfig) -> (SandboxWorld, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::new(start()));
    (SandboxWorld::new(config, clock.clone()), clock)
}

fn provider(account: &str) -> ProviderAccountId {
    ProviderAccountId::new(format!("p-{account}"))
}

fn add_account(world: &SandboxWorld, account: &str) {
    world.add_account(AccountId::new(account), provider(account), Tier::Premium);
}

fn add_lead(world: &SandboxWorld, lead: &str, first_degree_with: &[&str]) {
    world.add_lead(
        LeadId::new(lead),
        SandboxLead {
            email: Some(format!("{lead}@example.com")),
            first_degree_with: first_degree_with
                .iter()
                .map(|a| AccountId::new(*a))
                .collect(),
        },
    );
}

fn key(sequence: &str) -> StepKey {
    StepKey {
        sequence: SequenceId::new(sequence),
        step: 0,
    }
}

fn invite(account: &str, lead: &str) -> InviteRequest {
    InviteRequest {
        key: key(lead),
        account: AccountId::new(account),
        provider_account: provider(account),
        lead: LeadId::new(lead),
        note: Some("Hello".into()),
    }
}

fn message(account: &str, lead: &str) -> MessageRequest {
    MessageRequest {
        key: key(lead),
        account: AccountId::new(account),
        provider_account: provider(account),
        lead: LeadId::new(lead),
        text: format!("Hi {lead}"),
    }
}

fn email(lead: &str) -> EmailRequest {
    EmailRequest {
        key: key(lead),
        mailbox: MailboxId::new("mb-1"),
        to: format!("{lead}@example.com"),
        subject: "Quick question".into(),
        body: "Would a call make sense?".into(),
    }
}

/// `count` out of `n` is within 4.5 standard deviations (and 3 units) of the share `p`.
fn assert_rate(what: &str, count: usize, n: usize, p: f64) {
    let expected = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    let slack = 4.5 * sigma + 3.0;
    assert!(
        (count as f64 - expected).abs() <= slack,
        "{what}: {count} of {n}, expected about {expected:.0} (± {slack:.0})"
    );
}

/// What one send came to, as the caller can tell after reconciling by key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    Done,
    Refused(String),
    LostButDone,
    LostUndone,
}

async fn reconcile_invite(world: &SandboxWorld, account: &str, lead: &str) -> Seen {
    let result = world.send_invite(invite(account, lead)).await;
    let found = world.find_invite(&key(lead)).await.expect("find");
    seen(result.map(|_| ()), found.is_some())
}

async fn reconcile_message(world: &SandboxWorld, account: &str, lead: &str) -> Seen {
    let result = world.send_message(message(account, lead)).await;
    let found = world.find_message(&key(lead)).await.expect("find");
    seen(result.map(|_| ()), found.is_some())
}

async fn reconcile_email(world: &SandboxWorld, lead: &str) -> Seen {
    let result = world.send_email(email(lead)).await;
    let found = world.find_email(&key(lead)).await.expect("find");
    seen(result.map(|_| ()), found.is_some())
}

fn seen(result: Result<(), plera_domain::ports::GatewayError>, found: bool) -> Seen {
    match result {
        Ok(()) => {
            assert!(found, "a success is found by its key");
            Seen::Done
        }
        Err(e) if e.kind == GatewayErrorKind::Timeout => {
            if found {
                Seen::LostButDone
            } else {
                Seen::LostUndone
            }
        }
        Err(e) => {
            assert!(!found, "a refusal ({}) did nothing", e.kind);
            Seen::Refused(e.kind.as_str().to_string())
        }
    }
}

fn tally(outcomes: &[Seen]) -> BTreeMap<Seen, usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes {
        *counts.entry(o.clone()).or_default() += 1;
    }
    counts
}

fn refused(counts: &BTreeMap<Seen, usize>, kind: &str) -> usize {
    counts
        .get(&Seen::Refused(kind.to_string()))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn every_send_fault_appears_at_about_its_rate() {
    const N: usize = 6_000;
    let rate = 0.4;
    let model = sends_only();
    let (world, _clock) = world(faulty(3, rate, model.clone()));
    add_account(&world, "acc-1");
    let mut invites = Vec::new();
    let mut messages = Vec::new();
    let mut emails = Vec::new();
    for i in 0..N {
        let (a, b, c) = (format!("i-{i}"), format!("m-{i}"), format!("e-{i}"));
        add_lead(&world, &a, &[]);
        add_lead(&world, &b, &["acc-1"]);
        add_lead(&world, &c, &[]);
        invites.push(reconcile_invite(&world, "acc-1", &a).await);
        messages.push(reconcile_message(&world, "acc-1", &b).await);
        emails.push(reconcile_email(&world, &c).await);
    }
    let p = |w: f64| w * rate;
    for (what, outcomes, linkedin, invite) in [
        ("invites", &invites, true, true),
        ("messages", &messages, true, false),
        ("emails", &emails, false, false),
    ] {
        let counts = tally(outcomes);
        let get = |s: Seen| counts.get(&s).copied().unwrap_or(0);
        assert_rate(
            &format!("{what}: transient"),
            refused(&counts, "transient"),
            N,
            p(model.transient),
        );
        assert_rate(
            &format!("{what}: lost answers"),
            get(Seen::LostButDone),
            N,
            p(model.lost_answer),
        );
        assert_rate(
            &format!("{what}: timeouts before LinkedIn"),
            get(Seen::LostUndone),
            N,
            p(model.unanswered),
        );
        let on = |flag: bool, w: f64| if flag { p(w) } else { 0.0 };
        assert_rate(
            &format!("{what}: 429"),
            refused(&counts, "too_many_requests"),
            N,
            on(linkedin, model.too_many_requests),
        );
        assert_rate(
            &format!("{what}: limit_exceeded"),
            refused(&counts, "limit_exceeded"),
            N,
            on(linkedin, model.limit_exceeded),
        );
        assert_rate(
            &format!("{what}: cannot_resend_yet (account)"),
            refused(&counts, "temporary_provider_limit"),
            N,
            on(linkedin, model.temporary_limit),
        );
        assert_rate(
            &format!("{what}: cannot_resend_yet (recipient)"),
            refused(&counts, "cannot_invite_lead_yet"),
            N,
            on(invite, model.lead_not_yet),
        );
        let faulty: usize = counts
            .iter()
            .filter(|(s, _)| **s != Seen::Done)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(get(Seen::Done) + faulty, N);
    }
    // Every lost answer hides a performed action, and only those are in the ledger.
    let done = [&invites, &messages, &emails]
        .iter()
        .flat_map(|o| o.iter())
        .filter(|s| matches!(s, Seen::Done | Seen::LostButDone))
        .count();
    assert_eq!(world.ledger().len(), done);
}

#[tokio::test]
async fn a_retry_draws_its_own_fault_and_a_done_send_is_answered_not_repeated() {
    let (world, _clock) = world(faulty(8, 0.6, sends_only()));
    add_account(&world, "acc-1");
    let mut attempts_to_success = Vec::new();
    for i in 0..300 {
        let lead = format!("lead-{i}");
        add_lead(&world, &lead, &["acc-1"]);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let sent = world.send_message(message("acc-1", &lead)).await;
            let found = world.find_message(&key(&lead)).await.expect("find");
            if sent.is_ok() || found.is_some() {
                break;
            }
            assert!(attempts < 50, "{lead} never went through");
        }
        attempts_to_success.push(attempts);
        let again = world.send_message(message("acc-1", &lead)).await;
        assert!(again.is_ok(), "a done send is answered with its receipt");
    }
    assert!(attempts_to_success.iter().any(|a| *a >= 3));
    assert_eq!(world.ledger().len(), 300, "each message performed once");
}

#[tokio::test]
async fn cannot_resend_yet_comes_in_both_meanings_and_each_classifies_back() {
    let (world, _clock) = world(faulty(5, 1.0, sends_only()));
    add_account(&world, "acc-1");
    let mut details = std::collections::HashMap::new();
    for i in 0..2_000 {
        let lead = format!("lead-{i}");
        add_lead(&world, &lead, &[]);
        if let Err(e) = world.send_invite(invite("acc-1", &lead)).await {
            details.entry(e.kind).or_insert(e.detail);
        }
    }
    for kind in [
        GatewayErrorKind::TemporaryProviderLimit,
        GatewayErrorKind::CannotInviteLeadYet,
    ] {
        let detail = details.get(&kind).expect("both meanings appear");
        let (slug, words) = detail.split_once(": ").expect("slug: detail");
        assert_eq!(slug, "cannot_resend_yet");
        assert_eq!(
            GatewayErrorKind::from_provider(422, "errors/cannot_resend_yet", words),
            kind,
            "{detail}"
        );
    }
    for (kind, slug, status) in [
        (GatewayErrorKind::TooManyRequests, "too_many_requests", 429),
        (GatewayErrorKind::LimitExceeded, "limit_exceeded", 422),
        (GatewayErrorKind::Transient, "network_down", 503),
    ] {
        let detail = details.get(&kind).expect("fault appears");
        assert!(detail.starts_with(slug), "{detail}");
        assert_eq!(
            GatewayErrorKind::from_provider(status, &format!("errors/{slug}"), detail),
            kind
        );
    }
}

/// Every status notice of `world` up to `until`, without repeats.
fn status_notices(
    world: &SandboxWorld,
    until: DateTime<Utc>,
) -> BTreeSet<(AccountId, String, DateTime<Utc>)> {
    world
        .take_notifications(until)
        .into_iter()
        .filter_map(|e| match e {
            InboundEvent::AccountStatus {
                account,
                status,
                at,
            } => Some((account, format!("{status:?}"), at)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn session_expiries_and_restrictions_out_of_the_blue_appear_at_about_their_rates() {
    const ACCOUNTS: usize = 100;
    const DAYS: i64 = 200;
    let rate = 0.2;
    let model = FaultModel {
        duplicate: 0.0,
        held_back: 0.0,
        late: 0.0,
        ..FaultModel::default()
    };
    let (world, _clock) = world(faulty(11, rate, model.clone()));
    for a in 0..ACCOUNTS {
        add_account(&world, &format!("acc-{a}"));
    }
    let notices = status_notices(&world, start() + Duration::days(DAYS));
    let count = |status: &str| notices.iter().filter(|(_, s, _)| s == status).count();
    let account_days = ACCOUNTS * DAYS as usize;
    // Restrictions last a week; a restricted account is not restricted again, and loses no
    // session, so the shares are of the days outside restrictions.
    let restricted = count("Restricted");
    let free_days = account_days as f64 - restricted as f64 * 7.0;
    let p_restriction = rate * model.restriction;
    assert_rate(
        "restrictions",
        restricted,
        free_days as usize,
        p_restriction,
    );
    // An expired session stays expired until reconnected (never, here): one expiry per account
    // at most, after a geometric wait.
    let expired = count("CredentialsExpired");
    let p_expiry = rate * model.session_expiry;
    let expected_share = 1.0 - (1.0 - p_expiry).powf(DAYS as f64 * 0.9);
    assert_rate("accounts expired", expired, ACCOUNTS, expected_share);
    // Every restriction is announced, and so is its end a week later.
    for (account, status, at) in &notices {
        if status == "Restricted" {
            let ok = (account.clone(), "Ok".to_string(), *at + Duration::days(7));
            let ends_after_period = *at + Duration::days(7) > start() + Duration::days(DAYS);
            assert!(
                ends_after_period || notices.contains(&ok),
                "{account} restricted at {at} is never OK again"
            );
        }
    }
}

#[tokio::test]
async fn a_restriction_out_of_the_blue_refuses_sends_until_it_is_over() {
    // 10 % per account-day, no other fault.
    let config = faulty(
        2,
        0.1,
        FaultModel {
            restriction: 1.0,
            ..quiet_sends(sends_only())
        },
    );
    // Looking far ahead decides the future: a first world shows when the restriction comes, a
    // second one with the same seed lives it.
    let (oracle, _) = world(config.clone());
    add_account(&oracle, "acc-1");
    let notices = status_notices(&oracle, start() + Duration::days(120));
    let (_, _, from) = notices
        .iter()
        .find(|(_, s, _)| s == "Restricted")
        .cloned()
        .expect("restricted within 120 days at 10 % a day");
    let (world, clock) = world(config);
    add_account(&world, "acc-1");
    for i in 0..3 {
        add_lead(&world, &format!("lead-{i}"), &["acc-1"]);
    }
    clock.advance_to(from - Duration::minutes(1));
    assert_eq!(
        world.next_notification_at(),
        Some(from),
        "announced on time"
    );
    clock.advance_to(from + Duration::hours(1));
    let during = world.send_message(message("acc-1", "lead-0")).await;
    assert_eq!(
        during.map(|_| ()).map_err(|e| e.kind),
        Err(GatewayErrorKind::Restricted)
    );
    clock.advance_to(from + Duration::days(7) - Duration::minutes(1));
    let late = world.send_message(message("acc-1", "lead-1")).await;
    assert_eq!(
        late.map(|_| ()).map_err(|e| e.kind),
        Err(GatewayErrorKind::Restricted)
    );
    clock.advance_to(from + Duration::days(7) + Duration::minutes(1));
    world
        .send_message(message("acc-1", "lead-2"))
        .await
        .expect("the restriction is over");
}

/// `model` without any fault of sends.
fn quiet_sends(model: FaultModel) -> FaultModel {
    FaultModel {
        transient: 0.0,
        lost_answer: 0.0,
        unanswered: 0.0,
        too_many_requests: 0.0,
        limit_exceeded: 0.0,
        temporary_limit: 0.0,
        lead_not_yet: 0.0,
        ..model
    }
}

/// A world where every message gets exactly one answer (no out-of-office) and notifications
/// meet the faults of `rate`; `n` first-degree leads messaged at instants a minute apart.
async fn answered_messages(
    seed: u64,
    rate: f64,
    model: FaultModel,
    n: usize,
) -> (SandboxWorld, Arc<VirtualClock>) {
    let config = SandboxConfig {
        dm_reply_rate: 1.0,
        out_of_office_rate: 0.0,
        ..faulty(seed, rate, model)
    };
    let (world, clock) = world(config);
    add_account(&world, "acc-1");
    for i in 0..n {
        let lead = format!("lead-{i:05}");
        add_lead(&world, &lead, &["acc-1"]);
        world
            .send_message(message("acc-1", &lead))
            .await
            .expect("no send faults");
        clock.advance(Duration::minutes(1));
    }
    (world, clock)
}

/// The deliveries of every message notification, by provider message id.
fn deliveries_by_message(deliveries: &[Delivery]) -> BTreeMap<String, Vec<&Delivery>> {
    let mut by_id: BTreeMap<String, Vec<&Delivery>> = BTreeMap::new();
    for d in deliveries {
        if let InboundEvent::MessageReceived { message_id, .. } = &d.event {
            by_id.entry(message_id.to_string()).or_default().push(d);
        }
    }
    by_id
}

fn provider_at(event: &InboundEvent) -> DateTime<Utc> {
    match event {
        InboundEvent::MessageReceived { at, .. }
        | InboundEvent::InviteAccepted { at, .. }
        | InboundEvent::AccountStatus { at, .. } => *at,
    }
}

#[tokio::test]
async fn notifications_are_repeated_dropped_held_back_and_late_at_about_their_rates() {
    const N: usize = 5_000;
    let rate = 0.3;
    let model = FaultModel {
        session_expiry: 0.0,
        restriction: 0.0,
        auto_reply: 0.0,
        ..quiet_sends(FaultModel::default())
    };
    let (world, clock) = answered_messages(21, rate, model.clone(), N).await;
    // Every answer has come in a week after its message.
    clock.advance(Duration::days(10));
    let truth = world
        .poll(&AccountId::new("acc-1"), start() - Duration::days(1))
        .expect("known account");
    let deliveries = world.take_deliveries(start() + Duration::days(30));
    assert_eq!(truth.len(), N, "polling lists every answer");
    let by_id = deliveries_by_message(&deliveries);
    let dropped = N - by_id.len();
    assert_rate("dropped", dropped, N, rate * model.dropped);

    let delivered = by_id.len();
    let repeated = by_id.values().filter(|d| d.len() > 1).count();
    assert_rate("repeated", repeated, delivered, rate * model.duplicate);
    let most = by_id.values().map(Vec::len).max().unwrap_or(0);
    assert_eq!(most, model.max_deliveries as usize, "up to 6 deliveries");

    let first_delay = |d: &[&Delivery]| d[0].due - provider_at(&d[0].event);
    let late = by_id
        .values()
        .filter(|d| first_delay(d) >= model.late_min)
        .count();
    assert_rate("late", late, delivered, rate * model.late);
    let held = by_id
        .values()
        .filter(|d| {
            let delay = first_delay(d);
            Duration::zero() < delay && delay < model.late_min
        })
        .count();
    // Held back alone (the late ones are counted above whether or not also held back).
    let p_held = rate * model.held_back * (1.0 - rate * model.late);
    assert_rate("held back", held, delivered, p_held);
    assert!(by_id
        .values()
        .all(|d| first_delay(d) <= model.late_max + model.held_back_max));

    // Later answers overtake held-back and late ones: the stream is not in provider order.
    let firsts: Vec<DateTime<Utc>> = deliveries
        .iter()
        .filter(|d| matches!(d.event, InboundEvent::MessageReceived { .. }))
        .map(|d| provider_at(&d.event))
        .collect();
    let overtaken = firsts.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(overtaken > 100, "{overtaken} deliveries out of order");
    // Deliveries come in due order, and never before the provider knew.
    assert!(deliveries.windows(2).all(|w| w[0].due <= w[1].due));
    assert!(deliveries.iter().all(|d| d.due >= provider_at(&d.event)));
}

#[tokio::test]
async fn repeated_deliveries_carry_the_same_provider_message_id_and_content() {
    let (world, _clock) = answered_messages(4, 1.0, quiet_sends(FaultModel::default()), 400).await;
    let deliveries = world.take_deliveries(start() + Duration::days(30));
    let by_id = deliveries_by_message(&deliveries);
    let mut repeated = 0;
    for copies in by_id.values() {
        if copies.len() > 1 {
            repeated += 1;
        }
        assert!(
            copies.iter().all(|c| c.event == copies[0].event),
            "every copy says the same"
        );
    }
    assert!(repeated > 100, "{repeated} repeated at rate 1");
}

#[tokio::test]
async fn polling_finds_what_notifications_dropped_and_respects_its_window() {
    let config = SandboxConfig {
        acceptance_rate: 0.6,
        reply_rate_after_accept_with_note: 0.5,
        dm_reply_rate: 0.5,
        email_reply_rate: 0.5,
        ..faulty(9, 0.5, FaultModel::default())
    };
    let (world, clock) = world(config);
    add_account(&world, "acc-1");
    for i in 0..600 {
        let lead = format!("lead-{i:04}");
        add_lead(&world, &lead, if i % 3 == 1 { &["acc-1"] } else { &[] });
        // Retried until done, as the engine would (reconciling lost answers by key).
        for _ in 0..50 {
            let done = match i % 3 {
                0 => world.send_invite(invite("acc-1", &lead)).await.is_ok(),
                1 => world.send_message(message("acc-1", &lead)).await.is_ok(),
                _ => world.send_email(email(&lead)).await.is_ok(),
            };
            if done {
                break;
            }
        }
        clock.advance(Duration::minutes(7));
    }
    clock.advance(Duration::days(40));
    let delivered: Vec<InboundEvent> = world.take_notifications(clock.now());
    let since = start() - Duration::seconds(1);
    let account = AccountId::new("acc-1");
    let polled: Vec<InboundEvent> = world
        .poll(&account, since)
        .expect("known account")
        .into_iter()
        .chain(world.poll_mailbox(&MailboxId::new("mb-1"), since))
        .collect();
    let polled_messages: BTreeSet<String> = polled
        .iter()
        .filter_map(|e| match e {
            InboundEvent::MessageReceived { message_id, .. } => Some(message_id.to_string()),
            _ => None,
        })
        .collect();
    let polled_relations: BTreeMap<LeadId, DateTime<Utc>> = polled
        .iter()
        .filter_map(|e| match e {
            InboundEvent::InviteAccepted { lead, at, .. } => Some((lead.clone(), *at)),
            _ => None,
        })
        .collect();
    let mut notified_messages = BTreeSet::new();
    let mut notified_relations = BTreeMap::new();
    for e in &delivered {
        match e {
            InboundEvent::MessageReceived { message_id, .. } => {
                notified_messages.insert(message_id.to_string());
            }
            InboundEvent::InviteAccepted { lead, at, .. } => {
                notified_relations.insert(lead.clone(), *at);
            }
            InboundEvent::AccountStatus { .. } => {}
        }
    }
    assert!(notified_messages.is_subset(&polled_messages));
    assert!(
        polled_messages.len() > notified_messages.len(),
        "some answers were only found by polling"
    );
    assert!(polled_relations.len() > notified_relations.len());
    for (lead, told) in &notified_relations {
        let accepted = polled_relations
            .get(lead)
            .expect("a notified relation is listed");
        assert!(accepted <= told, "the notice never precedes the acceptance");
        assert!(world.is_connected(&account, lead));
    }
    // Out-of-office auto-replies came besides the answers, with their own ids.
    let auto_replies = polled
        .iter()
        .filter(|e| match e {
            InboundEvent::MessageReceived { text, .. } => {
                text.contains("out of the office")
                    || text.starts_with("Automatic reply")
                    || text.starts_with("Out of office")
            }
            _ => false,
        })
        .count();
    assert!(auto_replies > 10, "{auto_replies} auto-replies");
    // A window lists only what came in within it, in order.
    let all: Vec<DateTime<Utc>> = world
        .poll(&account, since)
        .expect("known")
        .iter()
        .map(provider_at)
        .collect();
    assert!(all.windows(2).all(|w| w[0] <= w[1]));
    let cut = all[all.len() / 2];
    let later = world.poll(&account, cut).expect("known");
    assert_eq!(later.len(), all.iter().filter(|at| **at > cut).count());
    assert!(later.iter().all(|e| provider_at(e) > cut));
    assert!(matches!(
        world.poll(&AccountId::new("nobody"), since),
        Err(plera_adapters::sandbox::SandboxError::UnknownAccount(_))
    ));
}

/// Everything a run shows from outside: per send its outcome, the ledger, every delivery (taken
/// in steps of `step`) and the polled listings.
type Observed = (
    BTreeMap<String, Vec<Seen>>,
    String,
    Vec<(DateTime<Utc>, String)>,
    Vec<String>,
);

async fn run(seed: u64, reverse: bool, step: Duration) -> Observed {
    let config = SandboxConfig {
        acceptance_rate: 0.5,
        dm_reply_rate: 0.4,
        email_reply_rate: 0.4,
        session_expiry_per_account_day: 0.05,
        ..faulty(seed, 0.3, FaultModel::default())
    };
    let (world, clock) = world(config);
    let accounts = ["acc-a", "acc-b", "acc-c"];
    let mut order: Vec<usize> = (0..90).collect();
    if reverse {
        order.reverse();
    }
    for a in if reverse { [2, 1, 0] } else { [0, 1, 2] } {
        add_account(&world, accounts[a]);
    }
    for i in &order {
        let connected: &[&str] = if i % 3 == 1 { &["acc-a"] } else { &[] };
        add_lead(&world, &format!("lead-{i:02}"), connected);
    }
    let mut outcomes: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
    for round in 0..4 {
        clock.advance_to(start() + Duration::hours(round * 5));
        for i in &order {
            let lead = format!("lead-{i:02}");
            let history = outcomes.entry(lead.clone()).or_default();
            if history
                .last()
                .is_some_and(|s| matches!(s, Seen::Done | Seen::LostButDone))
            {
                continue;
            }
            let outcome = match i % 3 {
                0 => reconcile_invite(&world, accounts[i % 2 + 1], &lead).await,
                1 => reconcile_message(&world, "acc-a", &lead).await,
                _ => reconcile_email(&world, &lead).await,
            };
            outcomes.entry(lead).or_default().push(outcome);
        }
    }
    let mut deliveries = Vec::new();
    let end = start() + Duration::days(60);
    let mut t = start();
    while t < end {
        t += step;
        for d in world.take_deliveries(t) {
            deliveries.push((d.due, format!("{:?}", d.event)));
        }
    }
    let mut ledger = Vec::new();
    world.write_ledger_jsonl(&mut ledger).expect("in memory");
    let mut polled = Vec::new();
    for a in accounts {
        for e in world
            .poll(&AccountId::new(a), start() - Duration::days(1))
            .expect("known")
        {
            polled.push(format!("{e:?}"));
        }
    }
    polled.extend(
        world
            .poll_mailbox(&MailboxId::new("mb-1"), start() - Duration::days(1))
            .iter()
            .map(|e| format!("{e:?}")),
    );
    (
        outcomes,
        String::from_utf8(ledger).expect("utf-8"),
        deliveries,
        polled,
    )
}

#[tokio::test]
async fn the_same_seed_gives_the_same_world_in_any_call_order() {
    let forward = run(7, false, Duration::minutes(10)).await;
    let backward = run(7, true, Duration::hours(7)).await;
    let kinds: BTreeSet<&Seen> = forward.0.values().flatten().collect();
    assert!(kinds.len() >= 3, "faults happened: {kinds:?}");
    assert!(forward.2.len() > 30);
    assert_eq!(forward.0, backward.0, "the same outcome for every send");
    assert_eq!(forward.1, backward.1, "the same ledger");
    assert_eq!(
        forward.2, backward.2,
        "the same deliveries at the same instants"
    );
    assert_eq!(forward.3, backward.3, "the same listings");
    let other = run(8, false, Duration::minutes(10)).await;
    assert_ne!(other.2, forward.2, "another seed, another world");
}

#[test]
fn status_notices_are_never_dropped() {
    // At the highest rate, every restriction and expiry a world without drops announces is
    // announced too (repeated, held back or late, perhaps).
    let config = |dropped: f64| SandboxConfig {
        session_expiry_per_account_day: 0.2,
        ..faulty(
            13,
            1.0,
            FaultModel {
                dropped,
                ..FaultModel::default()
            },
        )
    };
    let (lossy, _c1) = world(config(1.0));
    let (lossless, _c2) = world(config(0.0));
    for w in [&lossy, &lossless] {
        for a in 0..30 {
            add_account(w, &format!("acc-{a}"));
        }
    }
    let until = start() + Duration::days(90);
    let told = status_notices(&lossy, until);
    assert!(told.len() > 60, "{} notices", told.len());
    assert_eq!(told, status_notices(&lossless, until));
}
