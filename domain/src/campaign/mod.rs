//! The `Campaign` aggregate: a play run by a set of senders (and optionally a mailbox) over the
//! leads enrolled in it. It keeps the play itself, so a restart or a replay runs the same steps
//! even if the workspace's play library changed since.

mod aggregate;

pub use aggregate::{Campaign, CampaignCommand, CampaignError, CampaignEvent};
