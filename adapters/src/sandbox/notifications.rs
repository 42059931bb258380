//! What the provider will tell us and when: a queue in a total order (time, then a stable key)
//! so that notifications planned in any order are delivered in the same order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use plera_domain::ids::AccountId;
use plera_domain::ports::{AccountStatusSignal, InboundEvent};

/// Planned notifications keyed by (due time, stable key).
#[derive(Clone, Debug, Default)]
pub(crate) struct NotificationQueue {
    due: BTreeMap<(DateTime<Utc>, String), InboundEvent>,
}

impl NotificationQueue {
    /// Plans `event` for delivery at `at`. The key names the event completely, so planning the
    /// same notice twice keeps one.
    pub fn push(&mut self, at: DateTime<Utc>, key: String, event: InboundEvent) {
        self.due.insert((at, key), event);
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
    pub fn take(&mut self, up_to: DateTime<Utc>) -> Vec<InboundEvent> {
        let mut taken = Vec::new();
        while let Some(entry) = self.due.first_entry() {
            if entry.key().0 > up_to {
                break;
            }
            taken.push(entry.remove());
        }
        taken
    }
}
