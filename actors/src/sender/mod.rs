//! One actor per LinkedIn sender: the single owner, in this process, of the account's state and
//! quota. Every campaign that uses the sender draws on it; it grants slots one decision at a time.

mod actor;
mod desk;

pub(crate) use actor::serve;
pub use actor::{SenderActor, SenderMsg, SenderReply};
pub use desk::{SenderCard, SenderDesk, SlotAnswer, SlotCandidate, SlotGrant, StepReport};
