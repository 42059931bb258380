//! The sandbox world served over HTTP and SMTP: the provider's API (see the `provider` module
//! for its shape) on 127.0.0.1, an SMTP sink feeding the sandbox mailbox, and a notifier POSTing
//! the world's notifications to a webhook endpoint. `HttpLinkedIn`, `SmtpMailbox` and the
//! webhook endpoint talk to it exactly as to the real services.
//!
//! A provider answer the world "loses" (its fault injection) is a connection dropped after the
//! request was handled; listings show what the world really did, so reconciliation works.

mod api;
mod mail;
mod notifier;
mod records;
mod server;
pub mod smtp_sink;
mod wire_errors;

pub use notifier::{Delivery, DeliveryReport};
pub use server::{SandboxHttp, SandboxHttpConfig, SandboxHttpError};
pub use smtp_sink::{AcceptAll, MailHandler, ReceivedMail, SmtpSink, Verdict};
