//! Leases: which engine process owns a sender right now. A lease has an owner, an expiry and a
//! fencing token that grows on every change of owner; appends for a sender's aggregates carry the
//! token ([`Fence`]) and the store refuses them once the lease moved on, so a process that was
//! paused past its lease can never write for a sender it lost.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::StoreError;

/// The lease resource of a sender.
pub fn sender_resource(account: &str) -> String {
    format!("sender:{account}")
}

/// The lease resource that says an engine process is alive.
pub fn node_resource(node: &str) -> String {
    format!("node:{node}")
}

/// What an append must find in the lease table to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The leased resource (`sender:<id>`).
    pub resource: String,
    /// The process that must hold it.
    pub owner: String,
    /// The token it must still have.
    pub token: u64,
}

/// What must still hold when an append is written; checked inside the append's transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The lease is still its owner's with its token ([`StoreError::LeaseLost`] otherwise).
    Lease(Fence),
    /// Nobody appended to the aggregate after `sequence` ([`StoreError::Conflict`] otherwise): a
    /// step may start only on the sender state its slot was granted on, even when another
    /// process records a pause for that sender meanwhile.
    Unchanged {
        /// Its type.
        aggregate_type: String,
        /// Its id.
        aggregate_id: String,
        /// The last sequence it must still have.
        sequence: u64,
    },
}

/// A lease as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The leased resource.
    pub resource: String,
    /// Its holder.
    pub owner: String,
    /// Its fencing token.
    pub token: u64,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// The lease table. Times come from the caller's clock, so a simulation on a virtual clock sees
/// leases lapse on that clock.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Takes `resource` for `owner` until `now + ttl` when it is free, lapsed or already
    /// `owner`'s; returns the fencing token, or `None` when someone else holds it. The token
    /// grows whenever the owner changes. Serialised with appends, so every append of the
    /// previous owner either committed before (and is in the log the new owner reads next) or
    /// is refused.
    async fn acquire(
        &self,
        resource: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError>;

    /// Extends each of `owner`'s `leases` (resource, token) to `now + ttl`, in one round trip;
    /// returns the resources renewed (the others are no longer `owner`'s with that token).
    async fn renew(
        &self,
        owner: &str,
        leases: &[(String, u64)],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;

    /// Gives the lease up (it becomes free at once). A lease that is not `owner`'s with `token`
    /// is left alone.
    async fn release(&self, resource: &str, owner: &str, token: u64) -> Result<(), StoreError>;

    /// The leases whose resource starts with `prefix` and that have not lapsed at `now`.
    async fn live(&self, prefix: &str, now: DateTime<Utc>) -> Result<Vec<Lease>, StoreError>;
}
