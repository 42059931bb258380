//! Several engine instances over one PostgreSQL (`plera simulate --nodes K`), with crashes that
//! take nodes down for a while: senders move between nodes by their leases, and the run passes
//! the same audit as on one node — no quota overrun on the provider's ledger, nothing sent twice,
//! no step after a reply (issue 10).

use plera_adapters::audit::audit_log;
use plera_adapters::simulation::{default_start, simulate, ScenarioSize, SimulationOptions};
use plera_adapters::store::open_store;
use plera_tests::cluster_node::pg_pool;
use plera_tests::{gap_violations, log_violations, sent_vs_ledger, StoreKind, TestDb};

/// Runs a simulation on `nodes` nodes, checks it, and returns its log.
async fn run(seed: u64, nodes: u32, crashes: u32) -> Vec<plera_actors::store::StoredEvent> {
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

    // Senders moved between nodes (a token past 1: a new owner), and the nodes gave their
    // leases up when they shut down.
    let leases: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT resource, owner, token FROM leases WHERE starts_with(resource, 'sender:')",
    )
    .fetch_all(&pg_pool(&store))
    .await
    .expect("read leases");
    assert_eq!(leases.len(), 6, "{leases:?}");
    assert!(
        leases.iter().any(|(_, _, token)| *token > 1),
        "senders changed hands: {leases:?}"
    );
    assert!(
        leases.iter().all(|(_, owner, _)| owner.is_empty()),
        "every lease given up at shutdown: {leases:?}"
    );
    store.close().await;
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_with_crashes_pass_the_audit_and_repeat_their_log() {
    let first = run(11, 3, 3).await;
    let second = run(11, 3, 3).await;
    // Invariant 8: the same seed gives the same log, with nodes killed and rejoining too.
    assert_eq!(first.len(), second.len());
    assert!(first == second, "the two runs of seed 11 differ");
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

mod rebalance {
    use chrono::{Duration, TimeZone, Utc};
    use plera_actors::driver::ClusterConfig;
    use plera_actors::store::MemoryEventLog;
    use plera_actors::{Engine, SequentialIds, VirtualClock};
    use plera_adapters::sandbox::{SandboxConfig, SandboxWorld};
    use plera_domain::ids::{AccountId, WorkspaceId};
    use plera_domain::values::Limits;
    use plera_tests::{connect_sender, london_sender};
    use std::collections::BTreeSet;
    use std::sync::Arc;

    const TTL: Duration = Duration::minutes(10);
    const RENEWAL: Duration = Duration::minutes(2);

    struct Cluster {
        log: Arc<MemoryEventLog>,
        world: SandboxWorld,
        clock: Arc<VirtualClock>,
        ids: Arc<SequentialIds>,
        nodes: Vec<(String, Engine)>,
    }

    impl Cluster {
        async fn join(&mut self, name: &str) {
            let engine = Engine::builder()
                .event_log(self.log.clone())
                .linkedin(Arc::new(self.world.clone()))
                .email(Arc::new(self.world.clone()))
                .clock(self.clock.clone())
                .ids(self.ids.clone())
                .cluster(ClusterConfig {
                    node: name.into(),
                    leases: self.log.clone(),
                    ttl: TTL,
                    renew_every: RENEWAL,
                })
                .build()
                .await
                .expect("engine");
            self.nodes.push((name.into(), engine));
        }

        /// Ticks every node in turn for `minutes`, a minute apart, checking after every tick
        /// that no sender runs on two nodes.
        async fn run(&mut self, minutes: i64) {
            for _ in 0..minutes {
                for i in 0..self.nodes.len() {
                    self.nodes[i].1.tick().await.expect("tick");
                    self.no_sender_twice();
                }
                self.clock
                    .advance_to(self.clock_now() + Duration::minutes(1));
            }
        }

        fn clock_now(&self) -> chrono::DateTime<Utc> {
            use plera_domain::ports::Clock;
            self.clock.now()
        }

        fn no_sender_twice(&self) {
            let mut seen = BTreeSet::new();
            for (name, engine) in &self.nodes {
                for account in engine.running_senders() {
                    assert!(
                        seen.insert(account.clone()),
                        "{account} runs twice (on {name})"
                    );
                }
            }
        }

        fn shares(&self) -> Vec<usize> {
            self.nodes
                .iter()
                .map(|(_, e)| e.running_senders().len())
                .collect()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn joining_and_leaving_rebalances_without_two_owners() {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let clock = Arc::new(VirtualClock::new(start));
        let mut c = Cluster {
            log: Arc::new(MemoryEventLog::new()),
            world: SandboxWorld::new(SandboxConfig::seeded(5), clock.clone()),
            clock,
            ids: Arc::new(SequentialIds::default()),
            nodes: Vec::new(),
        };
        c.join("a").await;
        let ws = WorkspaceId::new("ws");
        let mut senders = BTreeSet::new();
        for i in 0..6 {
            let settings = london_sender(Limits {
                daily_invites: 20,
                daily_messages: 50,
                weekly_invites: 80,
            });
            let account =
                connect_sender(&c.nodes[0].1, &c.world, &ws, &format!("p{i}"), &settings).await;
            senders.insert(account);
        }
        // Alone: a runs every sender.
        c.run(3).await;
        assert_eq!(c.shares(), vec![6]);
        // b joins: a gives up half (at its next renewal), b takes them.
        c.join("b").await;
        c.run(6).await;
        assert_eq!(c.shares(), vec![3, 3]);
        // c joins: two each.
        c.join("c").await;
        c.run(6).await;
        assert_eq!(c.shares(), vec![2, 2, 2]);
        let union: BTreeSet<AccountId> = c
            .nodes
            .iter()
            .flat_map(|(_, e)| e.running_senders())
            .collect();
        assert_eq!(union, senders);
        // c leaves cleanly: its senders move at once.
        let (_, leaving) = c.nodes.pop().expect("c");
        leaving.shutdown().await;
        c.run(3).await;
        assert_eq!(c.shares(), vec![3, 3]);
        // b is killed: its senders wait for their leases to lapse, then a takes them all.
        let (_, killed) = c.nodes.pop().expect("b");
        killed.stop_abruptly().await;
        c.run(2).await;
        assert_eq!(c.shares(), vec![3], "b's leases have not lapsed yet");
        c.run(12).await;
        assert_eq!(c.shares(), vec![6]);
        for (_, engine) in c.nodes.drain(..) {
            engine.shutdown().await;
        }
    }
}

mod fencing {
    use chrono::{Duration, TimeZone, Utc};
    use plera_actors::driver::ClusterConfig;
    use plera_actors::store::{sender_resource, EventLog, LeaseStore, MemoryEventLog};
    use plera_actors::{Engine, EnrollOptions, LeadProfile, LeadSpec, SequentialIds, VirtualClock};
    use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
    use plera_domain::ids::{LeadId, WorkspaceId};
    use plera_domain::ports::Clock;
    use plera_domain::values::{Action, ConnectionDegree, Limits};
    use plera_tests::{
        connect_sender, linkedin_first_campaign, london_sender, register_mailbox, CrashPoint,
        CrashPoints,
    };
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    const TTL: Duration = Duration::minutes(10);

    /// Once armed with a sender's lease, takes it over from another "process" right after the
    /// gateway calls of a tick: the engine was paused past its lease in the middle of a step.
    struct Thief {
        log: Arc<MemoryEventLog>,
        clock: Arc<VirtualClock>,
        target: Mutex<Option<String>>,
        stolen: Mutex<Option<u64>>,
    }

    impl CrashPoints for Thief {
        fn crash_here(&self, point: CrashPoint) -> bool {
            if point == CrashPoint::AfterGatewayCall {
                if let Some(resource) = self.target.lock().unwrap().take() {
                    let later = self.clock.now() + TTL * 2;
                    let token = futures::executor::block_on(
                        self.log.acquire(&resource, "thief", TTL, later),
                    )
                    .expect("acquire");
                    *self.stolen.lock().unwrap() = token;
                }
            }
            false
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_that_lost_its_lease_mid_step_writes_nothing_more_for_that_sender() {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let clock = Arc::new(VirtualClock::new(start));
        let log = Arc::new(MemoryEventLog::new());
        let world = SandboxWorld::new(SandboxConfig::seeded(3), clock.clone());
        let thief = Arc::new(Thief {
            log: log.clone(),
            clock: clock.clone(),
            target: Mutex::new(None),
            stolen: Mutex::new(None),
        });
        let engine = Engine::builder()
            .event_log(log.clone())
            .linkedin(Arc::new(world.clone()))
            .email(Arc::new(world.clone()))
            .clock(clock.clone())
            .ids(Arc::new(SequentialIds::default()))
            .crash_points(thief.clone())
            .cluster(ClusterConfig {
                node: "a".into(),
                leases: log.clone(),
                ttl: TTL,
                renew_every: Duration::minutes(2),
            })
            .build()
            .await
            .expect("engine");
        let ws = WorkspaceId::new("ws");
        let settings = london_sender(Limits {
            daily_invites: 20,
            daily_messages: 50,
            weekly_invites: 80,
        });
        let account = connect_sender(&engine, &world, &ws, "p", &settings).await;
        register_mailbox(&engine, &ws).await;
        let campaign = linkedin_first_campaign(&engine, &ws, "c", vec![account.clone()]).await;
        let lead = LeadId::new("ada");
        world.add_lead(
            lead.clone(),
            SandboxLead {
                email: None,
                first_degree_with: BTreeSet::new(),
            },
        );
        engine
            .enroll(
                &ws,
                &campaign,
                LeadSpec {
                    lead_id: lead.clone(),
                    profile: LeadProfile::new("Ada", "Lovelace", "Acme")
                        .with_var("sender_first_name", "Al"),
                    connection_degree: ConnectionDegree::Second,
                    sender: None,
                },
                EnrollOptions::default(),
            )
            .await
            .expect("enroll");

        // The tick takes the lease and sends the invite; the lease is taken over between the
        // provider's answer and the outcome's append.
        *thief.target.lock().unwrap() = Some(sender_resource(account.as_str()));
        let mut invited = false;
        for _ in 0..120 {
            engine
                .tick()
                .await
                .expect("a lost lease is not an engine failure");
            if !world.ledger().is_empty() {
                invited = true;
                break;
            }
            clock.advance_to(clock.now() + Duration::minutes(1));
        }
        assert!(invited, "the invite went out");
        assert!(
            thief.stolen.lock().unwrap().is_some(),
            "the lease was taken"
        );
        let types = |events: &[plera_actors::store::StoredEvent]| -> Vec<String> {
            events
                .iter()
                .filter(|e| e.aggregate_type == "lead_sequence")
                .map(|e| e.event_type.clone())
                .collect()
        };
        let events = log.read_after(0, usize::MAX).await.expect("read");
        let before = types(&events);
        assert!(before.contains(&"StepStarted".to_string()), "{before:?}");
        assert!(
            !before.contains(&"InviteSent".to_string()),
            "the outcome append of a process without the lease is refused: {before:?}"
        );
        assert!(engine.running_senders().is_empty(), "it let the sender go");
        // While the thief holds it, this process writes nothing for that sender.
        for _ in 0..5 {
            clock.advance_to(clock.now() + Duration::minutes(1));
            engine.tick().await.expect("tick");
        }
        let during = log.read_after(0, usize::MAX).await.expect("read");
        assert_eq!(types(&during), before);

        // The thief lets go: the sender comes back, the step left in flight is reconciled with
        // the provider, recorded as sent, and never sent again.
        let stolen = thief.stolen.lock().unwrap().expect("token");
        log.release(&sender_resource(account.as_str()), "thief", stolen)
            .await
            .expect("release");
        for _ in 0..5 {
            clock.advance_to(clock.now() + Duration::minutes(1));
            engine.tick().await.expect("tick");
        }
        assert_eq!(engine.running_senders(), vec![account.clone()]);
        let after = types(&log.read_after(0, usize::MAX).await.expect("read"));
        assert!(
            after.contains(&"StepOutcomeUnknown".to_string()),
            "{after:?}"
        );
        assert!(after.contains(&"InviteSent".to_string()), "{after:?}");
        let invites = world
            .ledger()
            .iter()
            .filter(|e| e.action == Action::Invite && e.lead_id == lead)
            .count();
        assert_eq!(invites, 1, "sent once");
        engine.shutdown().await;
    }
}
