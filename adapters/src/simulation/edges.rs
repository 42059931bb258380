//! The edges between the engine and the simulated world: which gateways the engine is built with
//! and how the world's notifications reach it. In process, the engine calls the world directly
//! and the runner ingests notifications itself; `--via-http` puts the wire in between (the
//! provider's API, SMTP, webhooks). The runner is the same either way.

use async_trait::async_trait;
use chrono_tz::Tz;
use plera_actors::store::EventLog;
use plera_actors::{Engine, VirtualClock};
use plera_domain::ids::{AccountId, ProviderAccountId, WorkspaceId};
use plera_domain::ports::{EmailGateway, InboundEvent, LinkedInGateway};
use plera_domain::values::Tier;
use std::sync::Arc;

use super::scenario::Scenario;
use super::SimulationError;
use crate::sandbox::SandboxWorld;

/// What the engine is built with.
pub struct Gateways {
    /// LinkedIn.
    pub linkedin: Arc<dyn LinkedInGateway>,
    /// Email.
    pub email: Arc<dyn EmailGateway>,
}

/// How the engine reaches the world, for the simulation runner. Calls come in this order:
/// `open` once, then `gateways` before and `attach` after each engine is built (the first one
/// and each one rebuilt after a crash), the rest while the run goes on, `close` at the end.
#[async_trait]
pub trait Edges: Send {
    /// The world and the company exist: start whatever serves them.
    async fn open(
        &mut self,
        world: &SandboxWorld,
        clock: &Arc<VirtualClock>,
        scenario: &Scenario,
    ) -> Result<(), SimulationError>;

    /// The gateways of an engine about to be built on `log`.
    fn gateways(&mut self, log: Arc<dyn EventLog>) -> Result<Gateways, SimulationError>;

    /// The engine just built: notifications go to it from now on.
    async fn attach(&mut self, engine: &Engine) -> Result<(), SimulationError>;

    /// A sender was connected: the provider learns which of its accounts it is.
    fn account_connected(
        &self,
        account: AccountId,
        provider: ProviderAccountId,
        tier: Tier,
        tz: Tz,
    );

    /// Hands one of the world's notifications to the engine.
    async fn deliver(
        &mut self,
        engine: &Engine,
        workspace: &WorkspaceId,
        event: InboundEvent,
    ) -> Result<(), SimulationError>;

    /// The user renewed the session of `account` at the provider.
    fn session_renewed(&self, account: &AccountId) -> Result<(), SimulationError>;

    /// Stops whatever `open` started.
    async fn close(&mut self);
}

/// The engine calls the world in process; notifications are ingested directly.
#[derive(Default)]
pub struct InProcess {
    world: Option<SandboxWorld>,
}

impl InProcess {
    fn world(&self) -> Result<&SandboxWorld, SimulationError> {
        self.world.as_ref().ok_or(SimulationError::Edge(
            "the edges were used before open".into(),
        ))
    }
}

#[async_trait]
impl Edges for InProcess {
    async fn open(
        &mut self,
        world: &SandboxWorld,
        _clock: &Arc<VirtualClock>,
        _scenario: &Scenario,
    ) -> Result<(), SimulationError> {
        self.world = Some(world.clone());
        Ok(())
    }

    fn gateways(&mut self, _log: Arc<dyn EventLog>) -> Result<Gateways, SimulationError> {
        let world = self.world()?;
        Ok(Gateways {
            linkedin: Arc::new(world.clone()),
            email: Arc::new(world.clone()),
        })
    }

    async fn attach(&mut self, _engine: &Engine) -> Result<(), SimulationError> {
        Ok(())
    }

    fn account_connected(
        &self,
        account: AccountId,
        provider: ProviderAccountId,
        tier: Tier,
        tz: Tz,
    ) {
        if let Some(world) = &self.world {
            world.add_account_in(account, provider, tier, tz);
        }
    }

    async fn deliver(
        &mut self,
        engine: &Engine,
        workspace: &WorkspaceId,
        event: InboundEvent,
    ) -> Result<(), SimulationError> {
        engine.ingest(workspace, event).await?;
        Ok(())
    }

    fn session_renewed(&self, account: &AccountId) -> Result<(), SimulationError> {
        self.world()?.reconnect(account)?;
        Ok(())
    }

    async fn close(&mut self) {}
}
