//! Email over SMTP (lettre): the `EmailGateway` port for a real mailbox.

mod message_id;

pub use message_id::{message_id_for, step_of_message_id, step_of_references};
