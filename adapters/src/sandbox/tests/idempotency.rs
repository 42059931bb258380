//! The same step key never acts twice; reconciliation answers by key.

use plera_domain::ports::{EmailGateway, GatewayErrorKind, LinkedInGateway};
use plera_domain::values::Tier;

use super::*;

#[tokio::test]
async fn a_repeated_invite_key_returns_the_first_receipt_and_spends_nothing() {
    let (world, clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    leads(&world, 21, &[]);

    let first = world
        .send_invite(invite("acc-1", "lead-00000", key("s-0", 0), Some("Hello")))
        .await
        .expect("first invite");
    clock.advance(Duration::minutes(5));
    let again = world
        .send_invite(invite(
            "acc-1",
            "lead-00000",
            key("s-0", 0),
            Some("Other note"),
        ))
        .await
        .expect("repeat");
    assert_eq!(again, first, "the repeat answers with the first receipt");
    assert_eq!(world.ledger().len(), 1);
    assert_eq!(world.ledger()[0].note.as_deref(), Some("Hello"));

    // The repeat did not count against the daily cap of 20: 19 more go through.
    for i in 1..20 {
        let lead = format!("lead-{i:05}");
        world
            .send_invite(invite("acc-1", &lead, key(&format!("s-{i}"), 0), None))
            .await
            .expect("under the cap");
    }
    let over = world
        .send_invite(invite("acc-1", "lead-00020", key("s-20", 0), None))
        .await;
    assert_eq!(kind(over), GatewayErrorKind::LimitExceeded);
    // A known key still answers with its receipt once the cap is reached.
    assert_eq!(
        world
            .send_invite(invite("acc-1", "lead-00000", key("s-0", 0), None))
            .await,
        Ok(first)
    );
}

#[tokio::test]
async fn repeated_message_and_email_keys_act_once_and_are_found_by_key() {
    let (world, _clock) = world(quiet());
    account(&world, "acc-1", Tier::Premium);
    lead(&world, "ana", &["acc-1"]);

    let sent = world
        .send_message(message("acc-1", "ana", key("s-ana", 1)))
        .await
        .expect("message");
    let again = world
        .send_message(message("acc-1", "ana", key("s-ana", 1)))
        .await
        .expect("repeat");
    assert_eq!(again, sent);
    let mailed = world
        .send_email(email("ana@example.com", key("s-ana", 2)))
        .await
        .expect("email");
    assert_eq!(
        world
            .send_email(email("ana@example.com", key("s-ana", 2)))
            .await,
        Ok(mailed.clone())
    );
    assert_eq!(world.ledger().len(), 2);

    assert_eq!(world.find_message(&key("s-ana", 1)).await, Ok(Some(sent)));
    assert_eq!(world.find_email(&key("s-ana", 2)).await, Ok(Some(mailed)));
    assert_eq!(
        world.find_message(&key("s-ana", 2)).await,
        Ok(None),
        "keys are per action"
    );
    assert_eq!(world.find_invite(&key("s-ana", 1)).await, Ok(None));
}

#[tokio::test]
async fn a_refused_send_leaves_no_trace_and_its_key_may_be_retried() {
    let (world, clock) = world(quiet());
    account(&world, "acc-1", Tier::Premium);
    lead(&world, "bo", &[]);

    let refused = world
        .send_message(message("acc-1", "bo", key("s-bo", 0)))
        .await;
    assert_eq!(kind(refused), GatewayErrorKind::NotConnected);
    assert_eq!(world.find_message(&key("s-bo", 0)).await, Ok(None));
    assert!(world.ledger().is_empty());

    // Once the lead is a connection, the same key goes through.
    world.add_lead(
        LeadId::new("bo"),
        SandboxLead {
            email: None,
            first_degree_with: set_of(&["acc-1"]),
        },
    );
    clock.advance(Duration::hours(1));
    let receipt = world
        .send_message(message("acc-1", "bo", key("s-bo", 0)))
        .await
        .expect("retry");
    assert_eq!(receipt.at, start() + Duration::hours(1));
    assert_eq!(world.find_message(&key("s-bo", 0)).await, Ok(Some(receipt)));
}
