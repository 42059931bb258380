//! Inbound pages on engines that share their database (`ClusterConfig`): a page taken by one
//! node is decided on what the other nodes wrote, committed in one append, and answered and
//! logged as one call per event would be; when that append conflicts (another process wrote
//! first), its events are taken again one by one, and the answers are still those.

use chrono::{Duration, TimeZone, Utc};
use plera_actors::driver::ClusterConfig;
use plera_actors::store::{EventLog, MemoryEventLog, StoreError};
use plera_actors::{
    Engine, EngineError, EnrollOptions, IngestOutcome, LeadProfile, LeadSpec, SequentialIds,
    VirtualClock,
};
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_domain::ids::{AccountId, LeadId, ProviderMessageId, WorkspaceId};
use plera_domain::ports::{Clock, InboundEvent};
use plera_domain::values::{Channel, ConnectionDegree, Limits};
use plera_tests::{
    connect_sender, linkedin_first_campaign, london_sender, register_mailbox, FaultyLog,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const LEADS: usize = 12;

/// Two nodes on one log, a sender and `LEADS` leads in a sequence. Every node writes through
/// `log`, which counts appends and, once `race` is set, refuses the next append of more than
/// one event as a conflict, writing nothing (as when another process wrote to one of its
/// aggregates first).
struct Cluster {
    log: Arc<FaultyLog>,
    race: Arc<AtomicBool>,
    clock: Arc<VirtualClock>,
    nodes: [Engine; 2],
    ws: WorkspaceId,
    sender: AccountId,
}

impl Cluster {
    async fn new() -> Self {
        // Monday 2 March 2026, 09:00 UTC: inside the London sender's working hours.
        let clock = Arc::new(VirtualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        ));
        let memory = Arc::new(MemoryEventLog::new());
        let race = Arc::new(AtomicBool::new(false));
        let armed = race.clone();
        let log = Arc::new(FaultyLog::new(memory.clone(), move |events| {
            (events.len() > 1 && armed.swap(false, Ordering::SeqCst)).then(|| {
                StoreError::Conflict {
                    aggregate_type: events[0].aggregate_type.clone(),
                    aggregate_id: events[0].aggregate_id.clone(),
                }
            })
        }));
        let world = SandboxWorld::new(SandboxConfig::seeded(9), clock.clone());
        let ids = Arc::new(SequentialIds::default());
        let mut nodes = Vec::new();
        for name in ["a", "b"] {
            let engine = Engine::builder()
                .event_log(log.clone())
                .linkedin(Arc::new(world.clone()))
                .email(Arc::new(world.clone()))
                .clock(clock.clone())
                .ids(ids.clone())
                .cluster(ClusterConfig {
                    node: name.into(),
                    leases: memory.clone(),
                    ttl: Duration::minutes(10),
                    renew_every: Duration::minutes(2),
                })
                .build()
                .await
                .expect("engine");
            nodes.push(engine);
        }
        let nodes: [Engine; 2] = nodes.try_into().ok().expect("two nodes");
        let ws = WorkspaceId::new("ws");
        let settings = london_sender(Limits {
            daily_invites: 20,
            daily_messages: 50,
            weekly_invites: 80,
        });
        let sender = connect_sender(&nodes[0], &world, &ws, "p", &settings).await;
        register_mailbox(&nodes[0], &ws).await;
        let campaign = linkedin_first_campaign(&nodes[0], &ws, "c", vec![sender.clone()]).await;
        for i in 0..LEADS {
            let lead = LeadId::new(format!("l{i}"));
            world.add_lead(lead.clone(), SandboxLead::default());
            nodes[0]
                .enroll(
                    &ws,
                    &campaign,
                    LeadSpec {
                        lead_id: lead,
                        profile: LeadProfile::new("Ada", "Lovelace", "Acme")
                            .with_var("sender_first_name", "Al"),
                        connection_degree: ConnectionDegree::Second,
                        sender: None,
                    },
                    EnrollOptions::default(),
                )
                .await
                .expect("enroll");
        }
        Self {
            log,
            race,
            clock,
            nodes,
            ws,
            sender,
        }
    }

    fn reply(&self, lead: usize, id: &str) -> InboundEvent {
        InboundEvent::MessageReceived {
            account: Some(self.sender.clone()),
            lead: LeadId::new(format!("l{lead}")),
            channel: Channel::Linkedin,
            message_id: ProviderMessageId::new(id),
            text: "Thanks, let's talk".into(),
            at: self.clock.now(),
        }
    }

    /// A poller's page for node a, after node b took a reply of lead 2 that a has not read
    /// yet: a reply per lead (lead 2's a second one), an acceptance, a duplicate delivery.
    async fn page(&self) -> Vec<InboundEvent> {
        let first = self.nodes[1]
            .ingest(&self.ws, self.reply(2, "from-b"))
            .await;
        assert_eq!(first, Ok(IngestOutcome::Recorded));
        let mut page: Vec<InboundEvent> = (0..LEADS)
            .map(|i| self.reply(i, &format!("r{i}")))
            .collect();
        page.insert(
            1,
            InboundEvent::InviteAccepted {
                account: self.sender.clone(),
                lead: LeadId::new("l5"),
                at: self.clock.now(),
            },
        );
        page.push(self.reply(0, "r0"));
        page
    }

    async fn log_shape(&self) -> Vec<(String, String, u64, String)> {
        self.log
            .read_after(0, usize::MAX)
            .await
            .expect("read")
            .into_iter()
            .map(|e| (e.aggregate_type, e.aggregate_id, e.sequence, e.event_type))
            .collect()
    }

    async fn stop(self) {
        for node in self.nodes {
            node.shutdown().await;
        }
    }
}

/// The page taken by node a one event at a time: the reference.
async fn one_by_one() -> (
    Vec<Result<IngestOutcome, EngineError>>,
    Vec<(String, String, u64, String)>,
) {
    let cluster = Cluster::new().await;
    let page = cluster.page().await;
    let mut answers = Vec::new();
    for event in page {
        answers.push(cluster.nodes[0].ingest(&cluster.ws, event).await);
    }
    let shape = cluster.log_shape().await;
    cluster.stop().await;
    (answers, shape)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_into_one_node_reads_the_others_first_and_shares_one_append() {
    let (expected, expected_log) = one_by_one().await;
    let cluster = Cluster::new().await;
    let page = cluster.page().await;
    let before = cluster.log.appends();
    let answers = cluster.nodes[0].ingest_all(&cluster.ws, page).await;
    let appends = cluster.log.appends() - before;

    assert_eq!(answers, expected);
    // Lead 2's sequence was stopped by node b's reply: a's sees it, and the second reply is
    // recorded without a second stop; the last delivery is a duplicate.
    assert_eq!(answers.last(), Some(&Ok(IngestOutcome::Duplicate)));
    assert_eq!(cluster.log_shape().await, expected_log);
    assert_eq!(appends, 1, "one append for the page");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_append_conflicts_is_taken_again_one_by_one() {
    let (expected, expected_log) = one_by_one().await;
    let cluster = Cluster::new().await;
    let page = cluster.page().await;
    cluster.race.store(true, Ordering::SeqCst);
    let before = cluster.log.appends();
    let answers = cluster.nodes[0].ingest_all(&cluster.ws, page).await;
    let appends = cluster.log.appends() - before;

    assert_eq!(answers, expected);
    assert_eq!(cluster.log_shape().await, expected_log);
    // The refused append, then one per event that records something.
    let recording = answers
        .iter()
        .filter(|a| **a != Ok(IngestOutcome::Duplicate))
        .count();
    assert_eq!(appends, 1 + recording, "{answers:?}");
    cluster.stop().await;
}
