#![warn(missing_docs)]
//! The pure domain of plera: aggregates, events, plays, templates, the quota policy and the ports.
//!
//! Nothing in this crate performs I/O, reads a clock or draws global randomness: time arrives as
//! `at` values inside commands, ids are passed in, and every "random" choice is a pure function of
//! a seed handed in by the caller (see [`seed`]). That is what makes a simulation replayable.

pub mod campaign;
pub mod conversation;
pub mod ids;
pub mod lead;
pub mod note;
pub mod out_of_office;
pub mod play;
pub mod ports;
pub mod quota;
pub mod seed;
pub mod sender;
pub mod template;
pub mod values;
pub mod workspace;

/// The version written into every event's `event_version`; bump it together with an upcaster.
pub const EVENT_VERSION: &str = "1";
