//! The ports: what the engine needs from the outside world, as traits the adapters implement.
//!
//! Gateways are async (they do I/O in the adapters); their errors are classified here, purely, so
//! that every adapter maps the provider's words onto the same engine decisions.

mod clock;
mod email;
mod id_source;
mod inbound;
mod linkedin;

pub use clock::Clock;
pub use email::{EmailGateway, EmailReceipt, EmailRequest};
pub use id_source::IdSource;
pub use inbound::{AccountStatusSignal, InboundEvent};
pub use linkedin::{
    Disposition, GatewayError, GatewayErrorKind, InviteReceipt, InviteRequest, LinkedInGateway,
    MessageReceipt, MessageRequest, StepKey,
};
