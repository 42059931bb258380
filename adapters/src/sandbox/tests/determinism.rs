//! The same seed and the same actions give the same world, whatever the order of the calls.

use plera_domain::ports::{EmailGateway, LinkedInGateway};
use plera_domain::values::Tier;

use super::*;

/// The set-up and the actions of one scenario, applied in forward or reverse order.
async fn scenario(
    config: SandboxConfig,
    reverse: bool,
) -> (Vec<super::super::LedgerEntry>, Vec<InboundEvent>, Vec<u8>) {
    let (world, clock) = world(uncapped(SandboxConfig {
        session_expiry_per_account_day: 0.05,
        ..config
    }));
    let accounts = ["acc-a", "acc-b", "acc-c"];
    let mut setup: Vec<usize> = (0..60).collect();
    if reverse {
        setup.reverse();
    }
    for a in if reverse { [2, 1, 0] } else { [0, 1, 2] } {
        account(&world, accounts[a], Tier::Premium);
    }
    for i in &setup {
        let connected: &[&str] = if i % 3 == 0 { &["acc-a"] } else { &[] };
        lead(&world, &format!("lead-{i:02}"), connected);
    }
    for batch in 0..3 {
        clock.set(start() + Duration::hours(batch * 5));
        let mut order: Vec<usize> = (0..60).filter(|i| i % 3 == batch as usize).collect();
        if reverse {
            order.reverse();
        }
        for i in order {
            let l = format!("lead-{i:02}");
            let result = match i % 3 {
                0 => world
                    .send_message(message("acc-a", &l, key(&l, 0)))
                    .await
                    .map(|_| ()),
                1 => world
                    .send_invite(invite(accounts[i % 2 + 1], &l, key(&l, 0), Some("Hello")))
                    .await
                    .map(|_| ()),
                _ => world
                    .send_email(email(&format!("{l}@example.com"), key(&l, 0)))
                    .await
                    .map(|_| ()),
            };
            result.expect("every action is allowed");
        }
    }
    let mut jsonl = Vec::new();
    world.write_ledger_jsonl(&mut jsonl).expect("in memory");
    (world.ledger(), drain(&world), jsonl)
}

#[tokio::test]
async fn the_same_seed_gives_the_same_ledger_and_notifications_in_any_call_order() {
    let forward = scenario(SandboxConfig::seeded(7), false).await;
    let backward = scenario(SandboxConfig::seeded(7), true).await;
    assert_eq!(forward.0.len(), 60);
    assert!(!forward.1.is_empty());
    assert_eq!(forward.0, backward.0);
    assert_eq!(forward.1, backward.1);
    assert_eq!(forward.2, backward.2);

    let other_seed = scenario(SandboxConfig::seeded(8), false).await;
    assert_eq!(other_seed.0, forward.0, "the actions are the same");
    assert_ne!(other_seed.1, forward.1, "the leads behave differently");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_see_the_world_a_sequential_run_sees() {
    let config = uncapped(SandboxConfig::seeded(11));
    let (sequential, _c1) = world(config.clone());
    let (concurrent, _c2) = world(config);
    for w in [&sequential, &concurrent] {
        for a in 0..4 {
            account(w, &format!("acc-{a}"), Tier::Premium);
        }
        leads(w, 400, &[]);
    }
    let jobs =
        |a: usize| (0..100).map(move |i| (format!("acc-{a}"), format!("lead-{:05}", a * 100 + i)));
    for a in 0..4 {
        for (acc, l) in jobs(a) {
            sequential
                .send_invite(invite(&acc, &l, key(&l, 0), None))
                .await
                .expect("invite");
        }
    }
    // The engine holds the world as trait objects shared across threads.
    let gateway: Arc<dyn LinkedInGateway> = Arc::new(concurrent.clone());
    let tasks: Vec<_> = (0..4)
        .map(|a| {
            let world = gateway.clone();
            tokio::spawn(async move {
                for (acc, l) in jobs(a) {
                    world
                        .send_invite(invite(&acc, &l, key(&l, 0), None))
                        .await
                        .expect("invite");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(concurrent.ledger(), sequential.ledger());
    assert_eq!(drain(&concurrent), drain(&sequential));
}
