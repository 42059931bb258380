//! The `Workspace` aggregate: the authorisation flows in progress (single-use, expiring state
//! tokens, kept only as digests) and the mailboxes registered for email steps.

mod aggregate;

pub use aggregate::{
    PendingConnection, Workspace, WorkspaceCommand, WorkspaceError, WorkspaceEvent,
};
