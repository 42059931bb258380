#![warn(missing_docs)]
//! plera's runtime: one actix actor per LinkedIn sender (owning its quota), the sequence driver
//! (owning every lead's sequence and the step protocol), and the [`Engine`] façade, a plain async
//! API whose actors run on a private actix system.

pub mod clock;
pub mod driver;
pub mod engine;
pub mod id_source;
pub mod leads;
pub mod sender;
pub mod store;
mod system;

pub use clock::{SystemClock, VirtualClock};
pub use driver::{EnrollOptions, IngestOutcome, LeadSpec, TickReport};
pub use engine::{
    CampaignSpec, ConnectionLink, Engine, EngineBuilder, EngineError, SenderSettings, SenderView,
};
pub use id_source::{RandomIds, SequentialIds};
pub use leads::{LeadDirectory, LeadProfile, MemoryLeadDirectory};
