//! Several engine instances over one PostgreSQL (`plera simulate --nodes K`), with crashes that
//! take nodes down for a while: senders move between nodes by their leases, and the run passes
//! the same audit as on one node — no quota overrun on the provider's ledger, nothing sent twice,
//! no step after a reply (issue 10).

use plera_adapters::audit::audit_log;
use plera_adapters::simulation::{default_start, simulate, ScenarioSize, SimulationOptions};
use plera_adapters::store::open_store;
use plera_tests::cluster_node::pg_pool;
use plera_tests::{gap_violations, log_violations, sent_vs_ledger, StoreKind, TestDb};

async fn run(seed: u64, nodes: u32, crashes: u32) {
    let db = TestDb::new(StoreKind::Postgres).await;
    let url = db.url().expect("a PostgreSQL URL").to_string();
    let store = open_store(&url).await.expect("store");
    let options = SimulationOptions {
        size: ScenarioSize {
            seed,
            days: 6,
            leads: 240,
            accounts: 6,
        },
        faults: 0.05,
        crashes,
        nodes,
        start: default_start(),
    };
    let outcome = simulate(options, &url, store, &mut |_| {})
        .await
        .expect("the run completes");
    assert_eq!(outcome.restarts, crashes, "every planned crash happened");
    // Connections of the run's pools may belong to the nodes' stopped runtimes: read anew.
    outcome.store.close().await;
    let store = open_store(&url).await.expect("store");
    let log = store.event_log();
    let events = log.read_after(0, usize::MAX).await.expect("read the log");
    let ledger = outcome.world.ledger();
    let report = audit_log(log.as_ref(), Some(&ledger)).await.expect("audit");
    assert!(report.passed(), "audit: {:?}", report.violations);
    let mut violations = log_violations(&events);
    violations.retain(|v| !v.starts_with("message without acceptance in "));
    violations.extend(gap_violations(&events));
    violations.extend(sent_vs_ledger(&events, &ledger));
    assert!(violations.is_empty(), "{violations:?}");
    assert!(
        ledger.len() > 100,
        "the run did work: {} actions",
        ledger.len()
    );

    // Every sender is held by one live node; crashes moved some of them (a token past 1).
    let leases: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT resource, owner, token FROM leases WHERE starts_with(resource, 'sender:')",
    )
    .fetch_all(&pg_pool(&store))
    .await
    .expect("read leases");
    assert_eq!(leases.len(), 6, "{leases:?}");
    let owners: std::collections::BTreeSet<&str> =
        leases.iter().map(|(_, o, _)| o.as_str()).collect();
    assert!(owners.len() > 1, "the senders are spread: {leases:?}");
    if crashes > 0 {
        assert!(
            leases.iter().any(|(_, _, token)| *token > 1),
            "a crashed node's senders were taken over: {leases:?}"
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_with_crashes_pass_the_audit() {
    run(11, 3, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_without_crashes_share_the_senders() {
    run(12, 2, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_nodes_need_a_store_with_leases() {
    let db = TestDb::new(StoreKind::Sqlite).await;
    let url = db.url().expect("a SQLite URL").to_string();
    let store = open_store(&url).await.expect("store");
    let mut options = SimulationOptions::new(ScenarioSize {
        seed: 1,
        days: 1,
        leads: 10,
        accounts: 2,
    });
    options.nodes = 2;
    let refused = simulate(options, &url, store, &mut |_| {}).await;
    assert!(
        matches!(
            refused,
            Err(plera_adapters::simulation::SimulationError::Unsupported(_))
        ),
        "SQLite keeps no leases"
    );
}
