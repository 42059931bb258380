use plera_domain::ports::{Clock, EmailGateway, IdSource, LinkedInGateway};
use plera_domain::quota::QuotaPolicy;
use std::sync::{Arc, Mutex};

use super::{Engine, EngineError, Inner, Registry};
use crate::clock::SystemClock;
use crate::driver::{Book, ClusterConfig, CrashPoints, DriverActor, DriverMsg, NoCrashes};
use crate::id_source::RandomIds;
use crate::leads::{LeadDirectory, MemoryLeadDirectory};
use crate::sender::{SenderActor, SenderDesk};
use crate::store::EventLog;
use crate::system::ActorSystem;

/// Builds an [`Engine`]: an event log and both gateways are required; the clock, ids, lead
/// directory, quota policy and seed have production defaults.
pub struct EngineBuilder {
    log: Option<Arc<dyn EventLog>>,
    linkedin: Option<Arc<dyn LinkedInGateway>>,
    email: Option<Arc<dyn EmailGateway>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    directory: Arc<dyn LeadDirectory>,
    policy: QuotaPolicy,
    seed: u64,
    crash: Arc<dyn CrashPoints>,
    call_timeout: std::time::Duration,
    auth_base_url: String,
    deterministic_tokens: bool,
    auto_tick: Option<std::time::Duration>,
    views: Option<Arc<dyn plera_projections::ViewQueries>>,
    cluster: Option<ClusterConfig>,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self {
            log: None,
            linkedin: None,
            email: None,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            directory: Arc::new(MemoryLeadDirectory::default()),
            policy: QuotaPolicy::default(),
            seed: 0,
            crash: Arc::new(NoCrashes),
            call_timeout: std::time::Duration::from_secs(30),
            auth_base_url: "https://auth.plera.local/connect".into(),
            deterministic_tokens: false,
            auto_tick: None,
            views: None,
            cluster: None,
        }
    }
}

impl EngineBuilder {
    /// The event log (required).
    pub fn event_log(mut self, log: Arc<dyn EventLog>) -> Self {
        self.log = Some(log);
        self
    }

    /// The LinkedIn gateway (required).
    pub fn linkedin(mut self, gateway: Arc<dyn LinkedInGateway>) -> Self {
        self.linkedin = Some(gateway);
        self
    }

    /// The email gateway (required).
    pub fn email(mut self, gateway: Arc<dyn EmailGateway>) -> Self {
        self.email = Some(gateway);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The id source (default: random ids).
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// Where lead profiles live (default: in memory).
    pub fn lead_directory(mut self, directory: Arc<dyn LeadDirectory>) -> Self {
        self.directory = directory;
        self
    }

    /// The quota policy (pacing, working days).
    pub fn quota_policy(mut self, policy: QuotaPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The seed of every jittered choice (and of state tokens when they are deterministic).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Crash injection (fault tests and the simulator).
    pub fn crash_points(mut self, crash: Arc<dyn CrashPoints>) -> Self {
        self.crash = crash;
        self
    }

    /// How long a gateway call may take before its outcome counts as unknown.
    pub fn call_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The provider's hosted-auth URL the connection links point to.
    pub fn hosted_auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_base_url = url.into();
        self
    }

    /// Derive state tokens from the seed (simulations only: such tokens are guessable).
    pub fn deterministic_tokens(mut self) -> Self {
        self.deterministic_tokens = true;
        self
    }

    /// Run due work by itself, looking every `every` (production); without it, call
    /// [`Engine::tick`] (tests and the simulator on a virtual clock).
    pub fn auto_tick(mut self, every: std::time::Duration) -> Self {
        self.auto_tick = Some(every);
        self
    }

    /// The views the read calls (`inbox`, `sender_health`, `funnel`, ...) answer from.
    pub fn views(mut self, views: Arc<dyn plera_projections::ViewQueries>) -> Self {
        self.views = Some(views);
        self
    }

    /// Shares the database with other engine processes: this one runs only the senders whose
    /// lease it holds (see [`ClusterConfig`]). The event log must check the leases' fences
    /// (PostgreSQL's does).
    pub fn cluster(mut self, config: ClusterConfig) -> Self {
        self.cluster = Some(config);
        self
    }

    /// Starts the actor system, rebuilds every sender and sequence from the log, and returns
    /// the handle.
    pub async fn build(self) -> Result<Engine, EngineError> {
        let log = self
            .log
            .ok_or_else(|| EngineError::InvalidInput("an event log is required".into()))?;
        let linkedin = self
            .linkedin
            .ok_or_else(|| EngineError::InvalidInput("a LinkedIn gateway is required".into()))?;
        let email = self
            .email
            .ok_or_else(|| EngineError::InvalidInput("an email gateway is required".into()))?;
        let system = ActorSystem::start().map_err(|_| EngineError::SystemDown)?;
        let registry = Registry::default();
        let now = self.clock.now();
        let (book_log, book_registry, directory, crash, timeout) = (
            Arc::clone(&log),
            registry.clone(),
            Arc::clone(&self.directory),
            Arc::clone(&self.crash),
            self.call_timeout,
        );
        let policy = self.policy;
        let seed = self.seed;
        let cluster = self.cluster.clone();
        let clustered = cluster.is_some();
        let driver = system
            .run(move || async move {
                let (book, senders) = Book::load(
                    Arc::clone(&book_log),
                    linkedin,
                    email,
                    directory,
                    book_registry.clone(),
                    crash,
                    timeout,
                    policy,
                    seed,
                    cluster,
                    now,
                )
                .await?;
                for account in senders {
                    let desk =
                        SenderDesk::load(account.clone(), Arc::clone(&book_log), policy, seed, now)
                            .await?;
                    if let Some(ws) = desk.account().workspace_id().cloned() {
                        if clustered {
                            // Run only once its lease is ours (the first tick looks).
                            book_registry.insert_elsewhere(account, ws);
                        } else {
                            let addr = actix::Actor::start(SenderActor::new(desk));
                            book_registry.insert(account, ws, addr);
                        }
                    }
                }
                let mut book = book;
                for (account, _) in book_registry.all() {
                    book.wake_sender(&account, now);
                }
                Ok::<_, EngineError>(actix::Actor::start(DriverActor::new(book)))
            })
            .await
            .map_err(|_| EngineError::SystemDown)??;
        let (inbound, queue) = tokio::sync::mpsc::channel(super::inbound::INGEST_QUEUE);
        let to_driver = driver.clone();
        system
            .run(move || async move {
                actix::spawn(super::inbound::hand_to_driver(to_driver, queue));
            })
            .await
            .map_err(|_| EngineError::SystemDown)?;
        if let Some(every) = self.auto_tick {
            let driver = driver.clone();
            let clock = Arc::clone(&self.clock);
            system
                .run(move || async move {
                    actix::spawn(async move {
                        loop {
                            tokio::time::sleep(every).await;
                            if driver.send(DriverMsg::Tick(clock.now())).await.is_err() {
                                break;
                            }
                        }
                    });
                })
                .await
                .map_err(|_| EngineError::SystemDown)?;
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                system: Mutex::new(Some(system)),
                driver,
                inbound,
                registry,
                clock: self.clock,
                ids: self.ids,
                seed: self.seed,
                auth_base_url: self.auth_base_url,
                deterministic_tokens: self.deterministic_tokens,
                views: self.views,
                clustered,
            }),
        })
    }
}
