//! Email over SMTP (lettre): the `EmailGateway` port for a real mailbox.
//!
//! SMTP has no query API: `find_email` answers from a local journal of what the relay
//! accepted (optionally a file, so it survives restarts). A Message-ID derived from the step
//! key makes a resend after an unknown outcome the same message, which receivers deduplicate.

mod config;
mod journal;
mod mailbox;
mod message_id;

pub use config::{SmtpConfig, SmtpSecurity};
pub use mailbox::{SmtpMailbox, SmtpSetupError};
pub use message_id::{message_id_for, step_of_message_id, step_of_references};
