//! When each piece of work comes due: leads (their next step) and senders (their next slot).
//! Ordered by (time, key) so that work due at the same instant always runs in the same order.

use chrono::{DateTime, Utc};
use plera_domain::ids::{AccountId, SequenceId};
use std::collections::{BTreeSet, HashMap};

/// What comes due.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DueKey {
    /// A sender can grant a slot to its waiting leads.
    Sender(AccountId),
    /// A lead's next step (or skip, completion, reconciliation, re-check).
    Lead(SequenceId),
}

/// A due-time index with one entry per key.
#[derive(Default, Debug)]
pub struct DueIndex {
    order: BTreeSet<(DateTime<Utc>, DueKey)>,
    when: HashMap<DueKey, DateTime<Utc>>,
}

impl DueIndex {
    /// Sets (or moves) `key` to come due at `at`.
    pub fn set(&mut self, key: DueKey, at: DateTime<Utc>) {
        if let Some(old) = self.when.insert(key.clone(), at) {
            self.order.remove(&(old, key.clone()));
        }
        self.order.insert((at, key));
    }

    /// Sets `key` to `at` unless it is already due earlier.
    pub fn set_earliest(&mut self, key: DueKey, at: DateTime<Utc>) {
        match self.when.get(&key) {
            Some(old) if *old <= at => {}
            _ => self.set(key, at),
        }
    }

    /// When `key` comes due, if it is scheduled.
    pub fn when(&self, key: &DueKey) -> Option<DateTime<Utc>> {
        self.when.get(key).copied()
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &DueKey) {
        if let Some(old) = self.when.remove(key) {
            self.order.remove(&(old, key.clone()));
        }
    }

    /// The earliest due time.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.order.first().map(|(t, _)| *t)
    }

    /// Takes every key due at or before `now`, in order.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<DueKey> {
        let mut out = Vec::new();
        while let Some((t, _)) = self.order.first() {
            if *t > now {
                break;
            }
            if let Some((_, key)) = self.order.pop_first() {
                self.when.remove(&key);
                out.push(key);
            }
        }
        out
    }

    /// How many keys are scheduled.
    pub fn len(&self) -> usize {
        self.when.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.when.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn takes_due_keys_in_time_then_key_order_and_moves_keys() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let mut idx = DueIndex::default();
        idx.set(DueKey::Lead(SequenceId::new("b")), t0);
        idx.set(DueKey::Lead(SequenceId::new("a")), t0);
        idx.set(DueKey::Sender(AccountId::new("s")), t0 + Duration::hours(1));
        idx.set(DueKey::Lead(SequenceId::new("c")), t0 + Duration::hours(2));
        idx.set(DueKey::Lead(SequenceId::new("c")), t0 - Duration::hours(1));
        idx.set_earliest(DueKey::Lead(SequenceId::new("a")), t0 + Duration::hours(5));
        assert_eq!(idx.len(), 4);
        let due = idx.take_due(t0);
        assert_eq!(
            due,
            vec![
                DueKey::Lead(SequenceId::new("c")),
                DueKey::Lead(SequenceId::new("a")),
                DueKey::Lead(SequenceId::new("b")),
            ]
        );
        assert_eq!(idx.next_due(), Some(t0 + Duration::hours(1)));
    }
}
