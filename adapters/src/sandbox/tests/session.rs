//! Session expiry at drawn instants, its notice, and reconnection.

use plera_domain::ports::{AccountStatusSignal, GatewayErrorKind, LinkedInGateway};
use plera_domain::values::Tier;

use super::super::SandboxError;
use super::*;

/// Every account-day has an expiry, at an instant drawn for it.
fn always_expiring() -> SandboxConfig {
    SandboxConfig {
        session_expiry_per_account_day: 1.0,
        ..quiet()
    }
}

fn statuses(events: &[InboundEvent]) -> Vec<(AccountStatusSignal, DateTime<Utc>)> {
    events
        .iter()
        .filter_map(|event| match event {
            InboundEvent::AccountStatus { status, at, .. } => Some((*status, *at)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_expired_session_refuses_sends_until_the_user_reconnects() {
    let (world, clock) = world(always_expiring());
    let day = start() - Duration::hours(9);
    clock.set(day);
    account(&world, "acc-1", Tier::Premium);
    leads(&world, 3, &[]);

    let expires_at = world
        .next_notification_at()
        .expect("an expiry is drawn for today");
    assert_eq!(expires_at.date_naive(), day.date_naive());

    clock.set(expires_at - Duration::seconds(1));
    world
        .send_invite(invite("acc-1", "lead-00000", key("a", 0), None))
        .await
        .expect("still connected");
    clock.set(expires_at);
    let refused = world
        .send_invite(invite("acc-1", "lead-00001", key("b", 0), None))
        .await
        .expect_err("expired");
    assert_eq!(refused.kind, GatewayErrorKind::SessionExpired);
    let notices = world.take_notifications(expires_at);
    assert_eq!(
        statuses(&notices),
        vec![(AccountStatusSignal::CredentialsExpired, expires_at)]
    );

    clock.advance(Duration::minutes(30));
    world
        .reconnect(&AccountId::new("acc-1"))
        .expect("known account");
    world
        .send_invite(invite("acc-1", "lead-00001", key("b", 0), None))
        .await
        .expect("reconnected");
    assert_eq!(
        statuses(&world.take_notifications(clock.now())),
        vec![(AccountStatusSignal::Ok, expires_at + Duration::minutes(30))]
    );
    let next = world.next_notification_at().expect("tomorrow's expiry");
    assert!(
        next.date_naive() > day.date_naive(),
        "one expiry per day: {next}"
    );
}

#[tokio::test]
async fn the_expiry_instant_does_not_depend_on_how_busy_the_account_is() {
    let config = SandboxConfig {
        session_expiry_per_account_day: 0.2,
        ..uncapped(quiet())
    };
    let (busy, busy_clock) = world(config.clone());
    let (idle, _idle_clock) = world(config);
    for w in [&busy, &idle] {
        account(w, "acc-1", Tier::Premium);
    }
    let expiry = idle
        .next_notification_at()
        .expect("an expiry within a year at 20 %");

    let leads = leads(&busy, 200, &[]);
    for lead in &leads {
        let _ = busy
            .send_invite(invite("acc-1", lead, key(lead, 0), None))
            .await;
        busy_clock.advance(Duration::minutes(7));
        if busy_clock.now() >= expiry {
            break;
        }
    }
    let last_sent = busy.ledger().last().map(|e| e.at);
    assert!(
        last_sent.is_some_and(|at| at < expiry),
        "nothing is sent once expired"
    );
    let from_busy = statuses(&busy.take_notifications(expiry + Duration::days(1)));
    assert_eq!(
        from_busy.first(),
        Some(&(AccountStatusSignal::CredentialsExpired, expiry))
    );
    assert_eq!(
        statuses(&idle.take_notifications(expiry + Duration::days(1))).first(),
        Some(&(AccountStatusSignal::CredentialsExpired, expiry))
    );
}

#[tokio::test]
async fn reconnecting_a_live_session_changes_nothing_and_unknown_accounts_are_errors() {
    let (world, _clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    assert_eq!(world.reconnect(&AccountId::new("acc-1")), Ok(()));
    assert_eq!(
        world.next_notification_at(),
        None,
        "no notice for a live session"
    );
    assert_eq!(
        world.reconnect(&AccountId::new("acc-x")),
        Err(SandboxError::UnknownAccount(AccountId::new("acc-x")))
    );
}
