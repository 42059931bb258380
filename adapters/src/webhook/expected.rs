//! Settings for hosted-auth connections whose sender is already described (`plera serve`'s
//! configured senders): each has its own time zone, hours and limits, which the completion's
//! body cannot carry. Looked up by the state token's digest, so the token itself is not kept.

use chrono::{DateTime, Utc};
use plera_actors::engine::digest;
use plera_actors::SenderSettings;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Connections started with known settings, shared between whoever starts them and the
/// hosted-auth route.
#[derive(Clone, Default)]
pub struct ExpectedConnections {
    by_digest: Arc<Mutex<HashMap<String, Expected>>>,
}

struct Expected {
    settings: SenderSettings,
    until: DateTime<Utc>,
}

impl ExpectedConnections {
    /// The connection completed with `state` (valid until `until`) gets `settings`. Entries
    /// whose state expired before `now` are dropped: links nobody followed leave nothing behind.
    pub fn expect(
        &self,
        state: &str,
        settings: SenderSettings,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        let mut table = self.table();
        table.retain(|_, e| e.until >= now);
        table.insert(digest(state), Expected { settings, until });
    }

    /// The settings expected for `state`, if any.
    pub fn settings_for(&self, state: &str) -> Option<SenderSettings> {
        self.table().get(&digest(state)).map(|e| e.settings.clone())
    }

    /// Forgets `state` (its connection completed).
    pub fn forget(&self, state: &str) {
        self.table().remove(&digest(state));
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Expected>> {
        self.by_digest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for ExpectedConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpectedConnections")
            .field("pending", &self.table().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plera_domain::values::{Tier, WorkingHours};

    #[test]
    fn settings_are_found_by_their_state_until_forgotten_or_expired() {
        let expected = ExpectedConnections::default();
        let settings = SenderSettings {
            tier: Tier::Free,
            limits: None,
            timezone: chrono_tz::Asia::Tokyo,
            working_hours: WorkingHours::default(),
            warm_up: true,
        };
        let t0 = DateTime::<Utc>::from_timestamp(1_770_000_000, 0).unwrap();
        let ttl = chrono::Duration::minutes(30);
        expected.expect("state-1", settings.clone(), t0 + ttl, t0);
        assert_eq!(expected.settings_for("state-1"), Some(settings.clone()));
        assert_eq!(expected.settings_for("state-2"), None);
        assert!(!format!("{expected:?}").contains("state-1"));
        expected.forget("state-1");
        assert_eq!(expected.settings_for("state-1"), None);
        expected.expect("state-3", settings.clone(), t0 + ttl, t0);
        let later = t0 + ttl + chrono::Duration::seconds(1);
        expected.expect("state-4", settings.clone(), later + ttl, later);
        assert_eq!(expected.settings_for("state-3"), None, "expired, dropped");
        assert_eq!(expected.settings_for("state-4"), Some(settings));
    }
}
