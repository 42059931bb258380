//! Plays as data: an ordered list of steps, each with a channel, a template, a delay and a
//! condition. Loaded from TOML or JSON; two built-ins, `linkedin-first` and `email-first`.

mod builtins;
mod error;
mod load;
mod model;
mod validate;

pub use builtins::BUILTIN_NAMES;
pub use error::PlayError;
pub use model::{Condition, Delay, DelayError, Play, PlayStep};
