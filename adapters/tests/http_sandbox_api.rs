//! `HttpLinkedIn` against the sandbox served over HTTP: the API behaves as the provider's,
//! refusals keep their class across the wire, listings show what the world really did.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use plera_actors::VirtualClock;
use plera_adapters::provider::{HttpLinkedIn, MemoryAccounts, ProviderConfig};
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_adapters::sandbox_http::{SandboxHttp, SandboxHttpConfig};
use plera_domain::ids::{AccountId, LeadId, ProviderAccountId, SequenceId, WorkspaceId};
use plera_domain::ports::{
    GatewayErrorKind, InviteRequest, LinkedInGateway, MessageRequest, StepKey,
};
use plera_domain::values::Tier;
use secrecy::SecretString;
use url::Url;

fn key(lead: &str, step: u32) -> StepKey {
    StepKey {
        sequence: SequenceId::new(format!("ws/camp/{lead}")),
        step,
    }
}

fn invite(lead: &str, note: Option<String>) -> InviteRequest {
    InviteRequest {
        key: key(lead, 0),
        account: AccountId::new("acc-1"),
        provider_account: ProviderAccountId::new("li-1"),
        lead: LeadId::new(lead),
        note,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_sandbox_answers_as_the_provider() {
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    let config = SandboxConfig {
        acceptance_rate: 1.0,
        session_expiry_per_account_day: 0.0,
        ..SandboxConfig::seeded(9)
    };
    let world = SandboxWorld::new(config, clock.clone());
    let sandbox = SandboxHttp::start(
        world.clone(),
        SandboxHttpConfig {
            api_key: SecretString::from("right"),
            webhook_url: Url::parse("http://127.0.0.1:9").unwrap(),
            webhook_secret: SecretString::from("s"),
            mailboxes: Default::default(),
        },
    )
    .await
    .unwrap();
    sandbox.add_account(
        AccountId::new("acc-1"),
        "li-1".into(),
        Tier::Free,
        chrono_tz::UTC,
    );
    for lead in ["lead-1", "lead-2"] {
        world.add_lead(LeadId::new(lead), SandboxLead::default());
    }
    let gateway = |key: &str| {
        let config = ProviderConfig::new(sandbox.api_url(), SecretString::from(key))
            .with_timeout(StdDuration::from_secs(5));
        let accounts = Arc::new(MemoryAccounts::default());
        accounts.insert(
            WorkspaceId::new("ws"),
            AccountId::new("acc-1"),
            "li-1".into(),
        );
        HttpLinkedIn::new(config)
            .unwrap()
            .with_clock(clock.clone())
            .with_accounts(accounts)
    };

    let wrong = gateway("wrong")
        .send_invite(invite("lead-1", None))
        .await
        .unwrap_err();
    assert_eq!(wrong.kind, GatewayErrorKind::SessionExpired);

    let gw = gateway("right");
    let long_note = "x".repeat(250);
    let too_long = gw
        .send_invite(invite("lead-1", Some(long_note)))
        .await
        .unwrap_err();
    assert_eq!(too_long.kind, GatewayErrorKind::NoteTooLong, "{too_long}");

    let receipt = gw
        .send_invite(invite("lead-1", Some("Hi".into())))
        .await
        .unwrap();
    let again = gw
        .send_invite(invite("lead-1", Some("Hi".into())))
        .await
        .unwrap();
    assert_eq!(
        again.invitation_id, receipt.invitation_id,
        "one invite per key"
    );
    assert_eq!(world.ledger().len(), 1);
    let mut other_step = invite("lead-1", None);
    other_step.key = key("lead-1", 5);
    let twice = gw.send_invite(other_step).await.unwrap_err();
    assert_eq!(twice.kind, GatewayErrorKind::CannotInviteLeadYet, "{twice}");

    let found = gw
        .find_invite(&key("lead-1", 0))
        .await
        .unwrap()
        .expect("listed");
    assert_eq!(found.invitation_id, receipt.invitation_id);
    assert_eq!(gw.find_invite(&key("lead-2", 0)).await.unwrap(), None);

    let message = MessageRequest {
        key: key("lead-1", 2),
        account: AccountId::new("acc-1"),
        provider_account: "li-1".into(),
        lead: LeadId::new("lead-1"),
        text: "Thanks for connecting".into(),
    };
    let early = gw.send_message(message.clone()).await.unwrap_err();
    assert_eq!(early.kind, GatewayErrorKind::NotConnected);

    // Everyone accepts within 30 days: the relation is listed (whatever the notifications do),
    // the invite leaves the pending list, and the message goes out and is found by its key.
    clock.advance(Duration::days(31));
    let account = ProviderAccountId::new("li-1");
    let relations = gw.relations(&account, None).await.unwrap();
    assert_eq!(relations.items.len(), 1);
    assert_eq!(relations.items[0].member_id, "lead-1");
    assert!(gw
        .sent_invitations(&account, None)
        .await
        .unwrap()
        .items
        .is_empty());
    let sent = gw.send_message(message).await.unwrap();
    let found = gw
        .find_message(&key("lead-1", 2))
        .await
        .unwrap()
        .expect("in the chat");
    assert_eq!(found.message_id, sent.message_id);
    let status = gw.account_status(&account).await.unwrap();
    assert_eq!(status.raw, "OK");
    sandbox.stop().await;
}
