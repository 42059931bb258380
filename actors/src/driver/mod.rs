//! The sequence driver: holds every lead's sequence in memory, knows when each next step is due,
//! asks the lead's sender for a slot, and runs the step protocol of DESIGN §3.3 with group
//! commits: all `StepStarted` of one tick in one append, then the gateway calls, then all
//! outcomes in one append. Work due at the same instant runs in a fixed order, so a simulation
//! reproduces its log exactly.

mod actor;
mod book;
mod cluster;
mod inbound;
mod render;
mod schedule_index;
mod staged;
mod steps;

pub use actor::{DriverActor, DriverMsg, DriverReply};
pub use book::{Book, EnrollOptions, LeadSpec};
pub use cluster::ClusterConfig;
pub use inbound::{Inbound, IngestOutcome};
pub use schedule_index::{DueIndex, DueKey};
pub use steps::{CrashPoint, CrashPoints, NoCrashes, TickReport, MAX_ATTEMPTS};
