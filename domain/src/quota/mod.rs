//! The quota policy: pure functions of limits, tier, account age, recent actions and local time.

pub mod pacing;
pub mod usage;
pub mod warm_up;
pub mod window;

pub use usage::ActionLog;
pub use window::{WorkingDays, WorkingDaysError};
