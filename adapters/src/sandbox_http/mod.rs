//! The sandbox world served over HTTP and SMTP: the provider's API (`provider` module docs) on
//! 127.0.0.1, an SMTP sink feeding the sandbox mailbox, and a notifier POSTing the world's
//! notifications to a webhook URL. `HttpLinkedIn`, `SmtpMailbox` and the webhook endpoint talk
//! to it exactly as to the real services.

pub mod smtp_sink;

pub use smtp_sink::{AcceptAll, MailHandler, ReceivedMail, SmtpSink, Verdict};
