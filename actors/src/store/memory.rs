use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use plera_domain::ids::AccountId;
use std::collections::HashMap;
use std::sync::Mutex;

use super::{
    sender_action_of, Condition, EventLog, Lease, LeaseStore, NewEvent, SenderAction, StoreError,
    StoredEvent,
};

/// An event log in memory: the reference behaviour for tests; lost with the process.
#[derive(Default)]
pub struct MemoryEventLog {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    events: Vec<StoredEvent>,
    last_sequence: HashMap<(String, String), u64>,
    fail_next: usize,
    leases: HashMap<String, Lease>,
}

impl MemoryEventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `n` appends fail as a database failure would (for fault tests).
    pub fn fail_next_appends(&self, n: usize) {
        self.lock().fail_next = n;
    }

    /// Every stored event, in position order.
    pub fn all(&self) -> Vec<StoredEvent> {
        self.lock().events.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means a test thread panicked; the data is still consistent because
        // every mutation below completes before the guard drops.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventLog for MemoryEventLog {
    async fn append(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.append_if(events, &[]).await
    }

    async fn append_if(
        &self,
        events: Vec<NewEvent>,
        conditions: &[Condition],
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for c in conditions {
            match c {
                Condition::Lease(f) => {
                    let held = inner
                        .leases
                        .get(&f.resource)
                        .is_some_and(|l| l.owner == f.owner && l.token == f.token);
                    if !held {
                        return Err(StoreError::LeaseLost {
                            resource: f.resource.clone(),
                        });
                    }
                }
                Condition::Unchanged {
                    aggregate_type,
                    aggregate_id,
                    sequence,
                } => {
                    let key = (aggregate_type.clone(), aggregate_id.clone());
                    if inner.last_sequence.get(&key).copied().unwrap_or(0) != *sequence {
                        return Err(StoreError::Conflict {
                            aggregate_type: aggregate_type.clone(),
                            aggregate_id: aggregate_id.clone(),
                        });
                    }
                }
            }
        }
        if inner.fail_next > 0 {
            inner.fail_next -= 1;
            return Err(StoreError::Backend("injected failure".into()));
        }
        // Check every aggregate's expected sequence before writing anything: all or nothing.
        let mut expected: HashMap<(String, String), u64> = HashMap::new();
        for e in &events {
            let key = (e.aggregate_type.clone(), e.aggregate_id.clone());
            let last = *expected
                .get(&key)
                .or_else(|| inner.last_sequence.get(&key))
                .unwrap_or(&0);
            if e.sequence != last + 1 {
                return Err(StoreError::Conflict {
                    aggregate_type: e.aggregate_type.clone(),
                    aggregate_id: e.aggregate_id.clone(),
                });
            }
            expected.insert(key, e.sequence);
        }
        for e in events {
            let position = inner.events.len() as u64 + 1;
            inner.last_sequence.insert(
                (e.aggregate_type.clone(), e.aggregate_id.clone()),
                e.sequence,
            );
            inner.events.push(StoredEvent {
                position,
                aggregate_type: e.aggregate_type,
                aggregate_id: e.aggregate_id,
                sequence: e.sequence,
                event_type: e.event_type,
                event_version: e.event_version,
                payload: e.payload,
            });
        }
        Ok(())
    }

    async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let inner = self.lock();
        let start = (after as usize).min(inner.events.len());
        Ok(inner.events[start..].iter().take(limit).cloned().collect())
    }

    async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .events
            .iter()
            .filter(|e| e.aggregate_type == aggregate_type && e.aggregate_id == aggregate_id)
            .cloned()
            .collect())
    }

    async fn sender_actions(
        &self,
        account: &AccountId,
        since: DateTime<Utc>,
    ) -> Result<Vec<SenderAction>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .events
            .iter()
            .filter_map(|e| sender_action_of(&e.event_type, &e.payload))
            .filter(|a| &a.account_id == account && a.at >= since)
            .collect())
    }
}

#[async_trait]
impl LeaseStore for MemoryEventLog {
    async fn acquire(
        &self,
        resource: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let mut inner = self.lock();
        let token = match inner.leases.get(resource) {
            Some(l) if l.owner == owner => l.token,
            Some(l) if l.expires_at > now => return Ok(None),
            Some(l) => l.token + 1,
            None => 1,
        };
        inner.leases.insert(
            resource.to_string(),
            Lease {
                resource: resource.to_string(),
                owner: owner.to_string(),
                token,
                expires_at: now + ttl,
            },
        );
        Ok(Some(token))
    }

    async fn renew(
        &self,
        owner: &str,
        leases: &[(String, u64)],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let mut inner = self.lock();
        let mut renewed = Vec::new();
        for (resource, token) in leases {
            if let Some(l) = inner.leases.get_mut(resource) {
                if l.owner == owner && l.token == *token {
                    l.expires_at = now + ttl;
                    renewed.push(resource.clone());
                }
            }
        }
        Ok(renewed)
    }

    async fn release(&self, resource: &str, owner: &str, token: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(l) = inner.leases.get_mut(resource) {
            if l.owner == owner && l.token == token {
                // The row stays, ownerless and lapsed: the next owner's token is still greater.
                l.owner.clear();
                l.expires_at = DateTime::<Utc>::MIN_UTC;
            }
        }
        Ok(())
    }

    async fn live(&self, prefix: &str, now: DateTime<Utc>) -> Result<Vec<Lease>, StoreError> {
        let inner = self.lock();
        let mut out: Vec<Lease> = inner
            .leases
            .values()
            .filter(|l| l.resource.starts_with(prefix) && l.expires_at > now)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.resource.cmp(&b.resource));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(id: &str, seq: u64) -> NewEvent {
        NewEvent {
            aggregate_type: "t".into(),
            aggregate_id: id.into(),
            sequence: seq,
            event_type: "E".into(),
            event_version: "1".into(),
            payload: json!({}),
        }
    }

    #[tokio::test]
    async fn appends_are_all_or_nothing_and_ordered() {
        let log = MemoryEventLog::new();
        log.append(vec![ev("a", 1), ev("b", 1), ev("a", 2)])
            .await
            .unwrap();
        let conflict = log.append(vec![ev("b", 2), ev("a", 2)]).await;
        assert!(matches!(conflict, Err(StoreError::Conflict { .. })));
        let all = log.read_after(0, 100).await.unwrap();
        assert_eq!(
            all.iter().map(|e| e.position).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(log.read_after(2, 100).await.unwrap().len(), 1);
        assert_eq!(log.load("t", "a").await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn an_injected_failure_writes_nothing() {
        let log = MemoryEventLog::new();
        log.fail_next_appends(1);
        assert!(log.append(vec![ev("a", 1)]).await.is_err());
        assert!(log.read_after(0, 10).await.unwrap().is_empty());
        log.append(vec![ev("a", 1)]).await.unwrap();
    }
}
