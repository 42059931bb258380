//! Value objects shared by the aggregates, the plays and the quota policy.

mod channel;
mod limits;
mod tier;
mod working_hours;

pub use channel::{Action, Channel, ConnectionDegree};
pub use limits::{Limits, LimitsError};
pub use tier::Tier;
pub use working_hours::{WorkingHours, WorkingHoursError};
