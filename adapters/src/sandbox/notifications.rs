//! What the provider will tell us and when: a queue in a total order (time, then a stable key)
//! so that notifications planned in any order are delivered in the same order. A flaky provider
//! repeats, drops, holds back and delays deliveries; each notification's fate is drawn from its
//! own key, so it does not depend on when it was planned.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use plera_domain::ids::AccountId;
use plera_domain::ports::{AccountStatusSignal, InboundEvent};

use super::faults::{delivery_plan, FaultModel};

/// One delivery of a notification: when it arrives, and what it says (the event's own `at` is
/// the provider's time, which a delayed or repeated delivery keeps).
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// When the notification arrives.
    pub due: DateTime<Utc>,
    /// The notification.
    pub event: InboundEvent,
}

/// Planned deliveries keyed by (due time, stable key).
#[derive(Clone, Debug)]
pub(crate) struct NotificationQueue {
    due: BTreeMap<(DateTime<Utc>, String), InboundEvent>,
    seed: u64,
    rate: f64,
    model: FaultModel,
}

impl NotificationQueue {
    /// An empty queue whose deliveries meet the faults of `rate` and `model`.
    pub fn new(seed: u64, rate: f64, model: FaultModel) -> Self {
        Self {
            due: BTreeMap::new(),
            seed,
            rate,
            model,
        }
    }

    /// Plans `event`, which the provider knows of at `at`. The key names the event completely,
    /// so planning the same notice twice keeps one set of deliveries.
    pub fn push(&mut self, at: DateTime<Utc>, key: String, event: InboundEvent) {
        // The simulated owner reconnects on a status notice: those are never lost.
        let droppable = !matches!(event, InboundEvent::AccountStatus { .. });
        let plan = delivery_plan(self.seed, self.rate, &self.model, &key, at, droppable);
        for (copy, due) in plan.deliveries.into_iter().enumerate() {
            let key = if copy == 0 {
                key.clone()
            } else {
                format!("{key}#copy-{copy}")
            };
            self.due.insert((due, key), event.clone());
        }
    }

    /// Plans an account-status notice.
    pub fn status(&mut self, account: &AccountId, status: AccountStatusSignal, at: DateTime<Utc>) {
        let key = format!("status/{account}/{status:?}");
        self.push(
            at,
            key,
            InboundEvent::AccountStatus {
                account: account.clone(),
                status,
                at,
            },
        );
    }

    /// The earliest due time.
    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        self.due.keys().next().map(|(at, _)| *at)
    }

    /// Removes and returns everything due at or before `up_to`, in order.
    pub fn take(&mut self, up_to: DateTime<Utc>) -> Vec<Delivery> {
        let mut taken = Vec::new();
        while let Some(entry) = self.due.first_entry() {
            if entry.key().0 > up_to {
                break;
            }
            let due = entry.key().0;
            taken.push(Delivery {
                due,
                event: entry.remove(),
            });
        }
        taken
    }
}
