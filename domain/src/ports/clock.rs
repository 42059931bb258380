use chrono::{DateTime, Utc};

/// The engine's only source of time: a system clock in production, a virtual one in simulation.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}
