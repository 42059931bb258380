//! The deterministic simulation behind `plera simulate`: a company drawn from a seed (senders,
//! mailboxes, campaigns, leads), the real engine on a real store, the sandbox LinkedIn and mailbox,
//! a virtual clock, optional provider faults and engine crashes. The same options give the same
//! event log, byte for byte. The views are kept current during the run (once per simulated day).

mod counts;
mod crashes;
pub mod edges;
mod runner;
pub mod scenario;
pub mod via_http;

pub use counts::LogCounts;
pub use crashes::SeededCrashes;
pub(crate) use runner::is_memory_url;
pub use runner::SimulationOutcome;
pub use scenario::{Scenario, ScenarioSize};

use chrono::{DateTime, TimeZone, Utc};
use plera_actors::EngineError;
use thiserror::Error;

use crate::sandbox::SandboxError;
use crate::store::{Store, StoreOpenError};

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimulationOptions {
    /// Seed, days, leads and senders.
    pub size: ScenarioSize,
    /// Share of sends that fail like a flaky provider (half after doing the action).
    pub faults: f64,
    /// How many times the engine crashes and is rebuilt from the log.
    pub crashes: u32,
    /// How many engine instances share the database (each with its own actix system and
    /// connections; more than one needs PostgreSQL). A crash takes one down for a while.
    pub nodes: u32,
    /// When the simulated world starts.
    pub start: DateTime<Utc>,
}

impl SimulationOptions {
    /// The options for `size`, starting on Monday 2 March 2026 at 00:00 UTC, without faults or
    /// crashes.
    pub fn new(size: ScenarioSize) -> Self {
        Self {
            size,
            faults: 0.0,
            crashes: 0,
            nodes: 1,
            start: default_start(),
        }
    }
}

/// The fixed start of every simulation: a Monday, so the first enrollments meet a working day.
pub fn default_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Why a simulation stopped before its end.
#[derive(Debug, Error)]
pub enum SimulationError {
    /// The engine refused or failed.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    /// The store could not be reopened after a crash.
    #[error(transparent)]
    Store(#[from] StoreOpenError),
    /// The sandbox was misused (a bug of the simulation).
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    /// The views could not be kept current.
    #[error("views: {0}")]
    Views(#[from] plera_projections::queries::ViewError),
    /// The engine kept work due at one instant without moving on (a bug of the engine).
    #[error("the simulation made no progress at {0}")]
    Stalled(DateTime<Utc>),
    /// The wire between the engine and the world failed (`--via-http`: a server that would not
    /// start, a notification the webhook endpoint did not take).
    #[error("edge: {0}")]
    Edge(String),
    /// Several engine instances were asked for on a store without leases, or over HTTP.
    #[error("{0}")]
    Unsupported(String),
}

/// Runs the simulation into `store` (opened from `url`, which a crash reopens). `progress` is
/// called with the virtual time as it advances.
pub async fn simulate(
    options: SimulationOptions,
    url: &str,
    store: Store,
    progress: &mut dyn FnMut(DateTime<Utc>),
) -> Result<SimulationOutcome, SimulationError> {
    simulate_with(
        options,
        url,
        store,
        progress,
        Box::<edges::InProcess>::default(),
    )
    .await
}

/// [`simulate`], with the engine reaching the world through `edges` (e.g.
/// [`via_http::OverHttp`]).
pub async fn simulate_with(
    options: SimulationOptions,
    url: &str,
    store: Store,
    progress: &mut dyn FnMut(DateTime<Utc>),
    edges: Box<dyn edges::Edges>,
) -> Result<SimulationOutcome, SimulationError> {
    runner::Run::start(options, url, store, progress, edges)
        .await?
        .finish()
        .await
}
