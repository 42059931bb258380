//! Who may be invited, messaged or emailed, and what LinkedIn answers otherwise.

use plera_domain::ports::{EmailGateway, GatewayErrorKind, LinkedInGateway};
use plera_domain::values::{Action, Tier};

use super::*;

#[tokio::test]
async fn inviting_a_connection_is_already_connected() {
    let (world, _clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    account(&world, "acc-2", Tier::Free);
    lead(&world, "ana", &["acc-1"]);

    let refused = world
        .send_invite(invite("acc-1", "ana", key("s", 0), None))
        .await
        .expect_err("a connection");
    assert_eq!(refused.kind, GatewayErrorKind::AlreadyConnected);
    world
        .send_invite(invite("acc-2", "ana", key("s2", 0), None))
        .await
        .expect("not a connection of acc-2");
}

#[tokio::test]
async fn a_second_invite_to_the_same_lead_must_wait_and_reads_like_linkedin() {
    let (world, clock) = world(SandboxConfig {
        acceptance_rate: 0.0,
        ..quiet()
    });
    account(&world, "acc-1", Tier::Free);
    account(&world, "acc-2", Tier::Free);
    lead(&world, "bo", &[]);

    world
        .send_invite(invite("acc-1", "bo", key("camp-a/bo", 0), None))
        .await
        .expect("first invite");
    clock.advance(Duration::days(3));
    let refused = world
        .send_invite(invite("acc-1", "bo", key("camp-b/bo", 0), None))
        .await
        .expect_err("same account, same lead, another step");
    assert_eq!(refused.kind, GatewayErrorKind::CannotInviteLeadYet);
    assert_eq!(refused.detail, "Delay new invitation to this recipient");
    // The provider's words classify back to the same kind.
    assert_eq!(
        GatewayErrorKind::from_provider(422, "errors/cannot_resend_yet", &refused.detail),
        GatewayErrorKind::CannotInviteLeadYet
    );
    world
        .send_invite(invite("acc-2", "bo", key("camp-c/bo", 0), None))
        .await
        .expect("another sender may invite");
}

#[tokio::test]
async fn messages_need_a_connection_which_an_accepted_invite_creates() {
    let (world, clock) = world(SandboxConfig {
        acceptance_rate: 1.0,
        ..quiet()
    });
    account(&world, "acc-1", Tier::Premium);
    lead(&world, "cy", &[]);
    let (acc, cy) = (AccountId::new("acc-1"), LeadId::new("cy"));

    let refused = world
        .send_message(message("acc-1", "cy", key("s", 1)))
        .await;
    assert_eq!(kind(refused), GatewayErrorKind::NotConnected);

    world
        .send_invite(invite("acc-1", "cy", key("s", 0), None))
        .await
        .expect("invite");
    assert!(!world.is_connected(&acc, &cy), "acceptance takes a while");
    let accepted_by = start() + Duration::days(46);
    clock.set(accepted_by);
    assert!(world.is_connected(&acc, &cy));
    world
        .send_message(message("acc-1", "cy", key("s", 1)))
        .await
        .expect("a connection now");
    let again = world
        .send_invite(invite("acc-1", "cy", key("s", 2), None))
        .await;
    assert_eq!(kind(again), GatewayErrorKind::AlreadyConnected);

    let accepted: Vec<_> = drain(&world)
        .into_iter()
        .filter(|e| matches!(e, InboundEvent::InviteAccepted { .. }))
        .collect();
    assert_eq!(accepted.len(), 1);
}

#[tokio::test]
async fn notes_longer_than_the_tier_allows_are_refused() {
    let (world, _clock) = world(quiet());
    account(&world, "free", Tier::Free);
    account(&world, "prem", Tier::Premium);
    leads(&world, 4, &[]);
    let note = |n: usize| "é".repeat(n);

    let too_long = world
        .send_invite(invite("free", "lead-00000", key("a", 0), Some(&note(201))))
        .await
        .expect_err("201 characters on a free account");
    assert_eq!(too_long.kind, GatewayErrorKind::NoteTooLong);
    world
        .send_invite(invite("free", "lead-00000", key("a", 0), Some(&note(200))))
        .await
        .expect("200 characters (not bytes) fit");
    world
        .send_invite(invite("prem", "lead-00001", key("b", 0), Some(&note(300))))
        .await
        .expect("300 characters fit on premium");
    let refused = world
        .send_invite(invite("prem", "lead-00002", key("c", 0), Some(&note(301))))
        .await;
    assert_eq!(kind(refused), GatewayErrorKind::NoteTooLong);
}

#[tokio::test]
async fn emails_reach_only_known_addresses() {
    let (world, _clock) = world(quiet());
    lead(&world, "dee", &[]);
    world.add_lead(LeadId::new("no-mail"), SandboxLead::default());

    for to in ["nobody@example.com", "", "no-mail@example.com"] {
        let refused = world.send_email(email(to, key(&format!("k{to}"), 0))).await;
        assert_eq!(
            kind(refused),
            GatewayErrorKind::RecipientRefused,
            "to {to:?}"
        );
    }
    world
        .send_email(email("  DEE@Example.com ", key("s-dee", 0)))
        .await
        .expect("addresses compare case-insensitively");
    let ledger = world.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].lead_id, LeadId::new("dee"));
    assert_eq!(ledger[0].action, Action::Email);
    assert_eq!(ledger[0].account_id, None);
}

#[tokio::test]
async fn unknown_leads_and_unknown_accounts_are_refused() {
    let (world, _clock) = world(quiet());
    account(&world, "acc-1", Tier::Free);
    lead(&world, "eve", &[]);

    let unknown_lead = world
        .send_invite(invite("acc-1", "ghost", key("g", 0), None))
        .await;
    assert_eq!(kind(unknown_lead), GatewayErrorKind::RecipientRefused);
    let unknown_account = world
        .send_invite(invite("acc-9", "eve", key("g", 1), None))
        .await;
    assert_eq!(kind(unknown_account), GatewayErrorKind::SessionExpired);
    let mut wrong_provider = invite("acc-1", "eve", key("g", 2), None);
    wrong_provider.provider_account = ProviderAccountId::new("p-someone-else");
    assert_eq!(
        kind(world.send_invite(wrong_provider).await),
        GatewayErrorKind::SessionExpired
    );
    assert!(world.ledger().is_empty());
}
