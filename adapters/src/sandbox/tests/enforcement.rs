//! LinkedIn's hard caps per account, and the restriction that punishes pushing past them.

use chrono_tz::America::New_York;
use plera_domain::ports::{AccountStatusSignal, GatewayErrorKind, LinkedInGateway};
use plera_domain::values::Tier;

use super::*;

/// Sends invites from `account` to `leads[range]`, one second apart, keyed by lead; returns the
/// receipts' usage.
async fn invite_all(
    world: &SandboxWorld,
    clock: &TestClock,
    account: &str,
    leads: &[String],
) -> Vec<Option<f64>> {
    let mut usage = Vec::new();
    for lead in leads {
        let receipt = world
            .send_invite(invite(
                account,
                lead,
                key(&format!("{account}/{lead}"), 0),
                None,
            ))
            .await
            .unwrap_or_else(|e| panic!("invite to {lead}: {e}"));
        usage.push(receipt.usage);
        clock.advance(Duration::seconds(1));
    }
    usage
}

#[tokio::test]
async fn a_free_account_gets_20_invites_a_day() {
    let (world, clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    let leads = leads(&world, 21, &[]);

    invite_all(&world, &clock, "acc-1", &leads[..20]).await;
    let over = world
        .send_invite(invite("acc-1", &leads[20], key("late", 0), None))
        .await
        .expect_err("over the daily cap");
    assert_eq!(over.kind, GatewayErrorKind::LimitExceeded);
    assert!(over.detail.contains("daily"), "{}", over.detail);

    clock.set(start() + Duration::days(1));
    world
        .send_invite(invite("acc-1", &leads[20], key("late", 0), None))
        .await
        .expect("a new day");
}

#[tokio::test]
async fn a_free_account_gets_100_invites_per_rolling_week_and_usage_reports_the_share() {
    let (world, clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    let leads = leads(&world, 121, &[]);

    let mut usage = Vec::new();
    for day in 0..5 {
        clock.set(start() + Duration::days(day));
        usage.extend(invite_all(&world, &clock, "acc-1", &leads[day as usize * 20..][..20]).await);
    }
    assert_eq!(usage[0], Some(0.01));
    assert_eq!(usage[49], Some(0.5));
    assert_eq!(usage[99], Some(1.0));

    // Day 6 is under the daily cap but the rolling week is full…
    clock.set(start() + Duration::days(5));
    let over = world
        .send_invite(invite("acc-1", &leads[100], key("w", 0), None))
        .await
        .expect_err("weekly cap");
    assert_eq!(over.kind, GatewayErrorKind::LimitExceeded);
    assert!(over.detail.contains("weekly"), "{}", over.detail);
    // …until day 1's invites leave the window: rolling, not the calendar week.
    clock.set(start() + Duration::days(7) + Duration::minutes(1));
    let receipt = world
        .send_invite(invite("acc-1", &leads[100], key("w", 0), None))
        .await
        .expect("day 1 left the window");
    assert_eq!(
        receipt.usage,
        Some(0.81),
        "days 2–5 and this one: 81 of 100"
    );
}

#[tokio::test]
async fn premium_accounts_get_100_a_day_and_200_a_week() {
    let (world, clock) = world(quiet());
    account(&world, "acc-p", Tier::SalesNavigator);
    let leads = leads(&world, 201, &[]);

    let usage = invite_all(&world, &clock, "acc-p", &leads[..100]).await;
    assert_eq!(usage[99], Some(0.5));
    let over = world
        .send_invite(invite("acc-p", &leads[100], key("d", 0), None))
        .await;
    assert_eq!(kind(over), GatewayErrorKind::LimitExceeded);

    clock.set(start() + Duration::days(1));
    invite_all(&world, &clock, "acc-p", &leads[100..200]).await;
    clock.set(start() + Duration::days(2));
    let over = world
        .send_invite(invite("acc-p", &leads[200], key("d", 0), None))
        .await
        .expect_err("weekly cap");
    assert!(over.detail.contains("weekly"), "{}", over.detail);
}

#[tokio::test]
async fn messages_are_capped_at_150_a_day() {
    let (world, clock) = world(quiet());
    account(&world, "acc-1", Tier::Premium);
    let leads = leads(&world, 151, &["acc-1"]);

    for (i, lead) in leads[..150].iter().enumerate() {
        world
            .send_message(message("acc-1", lead, key(lead, 0)))
            .await
            .unwrap_or_else(|e| panic!("message {i}: {e}"));
        clock.advance(Duration::seconds(10));
    }
    let over = world
        .send_message(message("acc-1", &leads[150], key(&leads[150], 0)))
        .await
        .expect_err("over the daily cap");
    assert_eq!(over.kind, GatewayErrorKind::LimitExceeded);
    assert!(over.detail.contains("message"), "{}", over.detail);
}

#[tokio::test]
async fn daily_caps_count_the_days_of_the_accounts_time_zone() {
    let (world, clock) = world(quiet());
    world.add_account_in(
        AccountId::new("acc-ny"),
        provider("acc-ny"),
        Tier::Free,
        New_York,
    );
    let leads = leads(&world, 21, &[]);

    // 18:30 in New York on 2 March is 23:30 UTC: the UTC day ends soon after.
    clock.set(
        Utc.with_ymd_and_hms(2026, 3, 2, 23, 30, 0)
            .single()
            .expect("instant"),
    );
    invite_all(&world, &clock, "acc-ny", &leads[..20]).await;
    // 20:30 in New York, already 3 March in UTC: still the same local day.
    clock.set(
        Utc.with_ymd_and_hms(2026, 3, 3, 1, 30, 0)
            .single()
            .expect("instant"),
    );
    let over = world
        .send_invite(invite("acc-ny", &leads[20], key("tz", 0), None))
        .await;
    assert_eq!(kind(over), GatewayErrorKind::LimitExceeded);
    // 00:30 on 3 March in New York: a new local day.
    clock.set(
        Utc.with_ymd_and_hms(2026, 3, 3, 5, 30, 0)
            .single()
            .expect("instant"),
    );
    world
        .send_invite(invite("acc-ny", &leads[20], key("tz", 0), None))
        .await
        .expect("a new local day");
}

#[tokio::test]
async fn pushing_past_refusals_restricts_the_account_for_a_week() {
    let (world, clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    let leads = leads(&world, 30, &[]);
    lead(&world, "friend", &["acc-1"]);

    invite_all(&world, &clock, "acc-1", &leads[..20]).await;
    for i in 0..3 {
        let refused = world
            .send_invite(invite("acc-1", &leads[20 + i], key("push", i as u32), None))
            .await;
        assert_eq!(
            kind(refused),
            GatewayErrorKind::LimitExceeded,
            "refusal {i}"
        );
        clock.advance(Duration::minutes(10));
    }
    let restricted_at = clock.now();
    let pushed = world
        .send_invite(invite("acc-1", &leads[23], key("push", 3), None))
        .await
        .expect_err("restricted");
    assert_eq!(pushed.kind, GatewayErrorKind::Restricted);

    // Everything from the account is refused for the week, messages included.
    clock.set(restricted_at + Duration::days(6));
    let message_refused = world
        .send_message(message("acc-1", "friend", key("m", 0)))
        .await;
    assert_eq!(kind(message_refused), GatewayErrorKind::Restricted);
    assert!(world.ledger().iter().all(|e| e.at < restricted_at));

    clock.set(restricted_at + Duration::days(7));
    world
        .send_invite(invite("acc-1", &leads[24], key("after", 0), None))
        .await
        .expect("the restriction is over");
    world
        .send_message(message("acc-1", "friend", key("m", 0)))
        .await
        .expect("messages work again");

    let statuses: Vec<_> = drain(&world)
        .into_iter()
        .filter_map(|event| match event {
            InboundEvent::AccountStatus {
                account,
                status,
                at,
            } => Some((account, status, at)),
            _ => None,
        })
        .collect();
    let acc = AccountId::new("acc-1");
    assert_eq!(
        statuses,
        vec![
            (acc.clone(), AccountStatusSignal::Restricted, restricted_at),
            (
                acc,
                AccountStatusSignal::Ok,
                restricted_at + Duration::days(7)
            ),
        ]
    );
}

#[tokio::test]
async fn refusals_spread_over_days_do_not_restrict() {
    let (world, clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    let leads = leads(&world, 60, &[]);

    for day in 0..2 {
        clock.set(start() + Duration::days(day) + Duration::hours(1));
        let batch = &leads[day as usize * 30..][..30];
        invite_all(&world, &clock, "acc-1", &batch[..20]).await;
        for (i, lead) in batch[20..23].iter().enumerate() {
            let refused = world
                .send_invite(invite("acc-1", lead, key(lead, 0), None))
                .await;
            assert_eq!(
                kind(refused),
                GatewayErrorKind::LimitExceeded,
                "day {day}, push {i}"
            );
            clock.advance(Duration::minutes(1));
        }
    }
    assert!(
        drain(&world)
            .iter()
            .all(|e| !matches!(e, InboundEvent::AccountStatus { .. })),
        "three refusals a day are tolerated"
    );
}
