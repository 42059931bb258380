//! What both SQL logs do alike: check a batch's sequences, shape its rows, read rows back.

use chrono::{DateTime, Utc};
use plera_actors::store::{
    sender_action_of, NewEvent, SenderAction, StoreError, StoredEvent, StoredText,
};
use std::collections::HashMap;

use super::error::Redactor;

/// An aggregate's identity: (aggregate type, aggregate id).
pub(crate) type AggregateKey = (String, String);

/// The distinct aggregates of a batch, in order of first appearance.
pub(crate) fn aggregates(events: &[NewEvent]) -> Vec<(&str, &str)> {
    let mut seen = std::collections::HashSet::new();
    events
        .iter()
        .map(|e| (e.aggregate_type.as_str(), e.aggregate_id.as_str()))
        .filter(|key| seen.insert(*key))
        .collect()
}

/// Checks that each aggregate's new events directly follow its stored last sequence (`last`,
/// absent for a new aggregate) and each other: the optimistic concurrency rule of `append`.
pub(crate) fn check_sequences(
    events: &[NewEvent],
    last: &HashMap<AggregateKey, u64>,
) -> Result<(), StoreError> {
    let mut expected: HashMap<(&str, &str), u64> = HashMap::new();
    for e in events {
        let key = (e.aggregate_type.as_str(), e.aggregate_id.as_str());
        let previous = match expected.get(&key) {
            Some(seq) => *seq,
            None => last
                .get(&(e.aggregate_type.clone(), e.aggregate_id.clone()))
                .copied()
                .unwrap_or(0),
        };
        if e.sequence != previous + 1 {
            return Err(conflict(e));
        }
        expected.insert(key, e.sequence);
    }
    Ok(())
}

/// The conflict an event's aggregate is in.
pub(crate) fn conflict(event: &NewEvent) -> StoreError {
    StoreError::Conflict {
        aggregate_type: event.aggregate_type.clone(),
        aggregate_id: event.aggregate_id.clone(),
    }
}

/// Builds the last-sequence map from `(type, id, MAX(sequence))` rows.
pub(crate) fn last_sequences(
    rows: Vec<(String, String, Option<i64>)>,
) -> Result<HashMap<AggregateKey, u64>, StoreError> {
    let mut last = HashMap::new();
    for (aggregate_type, aggregate_id, max) in rows {
        if let Some(max) = max {
            let max = u64::try_from(max)
                .map_err(|_| StoreError::Backend(format!("negative sequence {max} stored")))?;
            last.insert((aggregate_type, aggregate_id), max);
        }
    }
    Ok(last)
}

/// One `events` row to insert.
pub(crate) struct EventRow<'a> {
    /// The event.
    pub event: &'a NewEvent,
    /// Its sequence, as the database stores it.
    pub sequence: i64,
    /// Its global position.
    pub position: i64,
    /// Its payload as JSON text.
    pub payload: String,
}

/// One `sender_actions` row to insert.
pub(crate) struct ActionRow {
    /// Position of the `StepStarted` event it stands for.
    pub position: i64,
    /// The sender.
    pub account_id: String,
    /// `invite` or `message`.
    pub action: String,
    /// When it started.
    pub at: DateTime<Utc>,
}

/// The rows an append writes, positions following `last_position`.
pub(crate) fn rows(
    events: &[NewEvent],
    last_position: i64,
) -> Result<(Vec<EventRow<'_>>, Vec<ActionRow>), StoreError> {
    let mut event_rows = Vec::with_capacity(events.len());
    let mut action_rows = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let position = i64::try_from(i)
            .ok()
            .and_then(|i| last_position.checked_add(i + 1))
            .ok_or_else(|| StoreError::Backend("global position overflow".into()))?;
        let sequence = i64::try_from(event.sequence).map_err(|_| {
            StoreError::Backend(format!("sequence {} is out of range", event.sequence))
        })?;
        if let Some(action) = sender_action_of(&event.event_type, &event.payload) {
            action_rows.push(ActionRow {
                position,
                account_id: action.account_id.to_string(),
                action: action.action.to_string(),
                at: action.at,
            });
        }
        event_rows.push(EventRow {
            event,
            sequence,
            position,
            payload: event.payload.to_string(),
        });
    }
    Ok((event_rows, action_rows))
}

/// An `events` row as read back (payload as JSON text).
#[derive(sqlx::FromRow)]
pub(crate) struct EventRecord {
    pub(super) position: i64,
    pub(super) aggregate_type: String,
    pub(super) aggregate_id: String,
    pub(super) sequence: i64,
    pub(super) event_type: String,
    pub(super) event_version: String,
    pub(super) payload: String,
}

impl EventRecord {
    /// The stored event, or why the row is unreadable.
    pub(crate) fn into_stored(self) -> Result<StoredEvent, StoreError> {
        let text = self.into_text()?;
        let position = text.position;
        let payload = serde_json::from_str(&text.payload).map_err(|e| StoreError::Corrupt {
            position,
            reason: format!("payload is not JSON: {e}"),
        })?;
        Ok(text.map_payload(|_| payload))
    }

    /// The stored event with its payload's text as read, or why the row is unreadable.
    pub(crate) fn into_text(self) -> Result<StoredText, StoreError> {
        let position = u64::try_from(self.position).map_err(|_| StoreError::Corrupt {
            position: 0,
            reason: format!("negative position {}", self.position),
        })?;
        let sequence = u64::try_from(self.sequence).map_err(|_| StoreError::Corrupt {
            position,
            reason: format!("negative sequence {}", self.sequence),
        })?;
        Ok(StoredText {
            position,
            aggregate_type: self.aggregate_type,
            aggregate_id: self.aggregate_id,
            sequence,
            event_type: self.event_type,
            event_version: self.event_version,
            payload: self.payload,
        })
    }
}

/// Reads rows into stored events with their payloads' text, failing on the first unreadable one.
pub(crate) fn stored_text(records: Vec<EventRecord>) -> Result<Vec<StoredText>, StoreError> {
    records.into_iter().map(EventRecord::into_text).collect()
}

/// Reads rows into stored events, failing on the first unreadable one.
pub(crate) fn stored(records: Vec<EventRecord>) -> Result<Vec<StoredEvent>, StoreError> {
    records.into_iter().map(EventRecord::into_stored).collect()
}

/// The sender actions of the `StepStarted` events an index query found, kept exactly when they
/// are `account`'s at or after `since`: the index narrows, the events themselves decide (the
/// index's time may be coarser than the event's).
pub(crate) fn sender_actions(
    records: Vec<EventRecord>,
    account: &plera_domain::ids::AccountId,
    since: DateTime<Utc>,
) -> Result<Vec<SenderAction>, StoreError> {
    let mut actions = Vec::with_capacity(records.len());
    for event in stored(records)? {
        let action =
            sender_action_of(&event.event_type, &event.payload).ok_or(StoreError::Corrupt {
                position: event.position,
                reason: "indexed as a sender action but is not one".into(),
            })?;
        if &action.account_id == account && action.at >= since {
            actions.push(action);
        }
    }
    Ok(actions)
}

/// Why writing an append's rows stopped.
pub(crate) enum WriteError {
    /// The port's own refusal (a conflict found by the check, a value out of range).
    Store(StoreError),
    /// The database failed.
    Db(sqlx::Error),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// Whether the database refused a duplicate key.
fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// What an append reports once its transaction is over. A duplicate key means a writer that
/// bypassed the append lock got in first: `recheck` reads the fresh last sequences, which name the
/// aggregate in conflict.
pub(crate) async fn settle<F, Fut>(
    outcome: Result<(), WriteError>,
    events: &[NewEvent],
    redact: &Redactor,
    recheck: F,
) -> Result<(), StoreError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<HashMap<AggregateKey, u64>, StoreError>>,
{
    match outcome {
        Ok(()) => Ok(()),
        Err(WriteError::Store(e)) => Err(e),
        Err(WriteError::Db(e)) if is_unique_violation(&e) => {
            check_sequences(events, &recheck().await?)?;
            Err(redact.backend(e))
        }
        Err(WriteError::Db(e)) => Err(redact.backend(e)),
    }
}

/// Clamps a position or count to the database's integer range.
pub(crate) fn clamp_i64<T: TryInto<i64>>(n: T) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(id: &str, sequence: u64) -> NewEvent {
        NewEvent {
            aggregate_type: "t".into(),
            aggregate_id: id.into(),
            sequence,
            event_type: "E".into(),
            event_version: "1".into(),
            payload: json!({}),
        }
    }

    #[test]
    fn sequences_must_follow_the_stored_last_one_and_each_other() {
        let last = HashMap::from([(("t".to_string(), "a".to_string()), 2)]);
        assert!(check_sequences(&[ev("a", 3), ev("b", 1), ev("a", 4)], &last).is_ok());
        for bad in [
            vec![ev("a", 2)],
            vec![ev("a", 4)],
            vec![ev("b", 2)],
            vec![ev("b", 1), ev("b", 1)],
            vec![ev("a", 3), ev("a", 5)],
        ] {
            assert!(
                matches!(
                    check_sequences(&bad, &last),
                    Err(StoreError::Conflict { .. })
                ),
                "{bad:?} must conflict"
            );
        }
    }

    #[test]
    fn rows_take_consecutive_positions_and_index_linkedin_steps_only() {
        let mut invite = ev("a", 1);
        invite.event_type = "StepStarted".into();
        invite.payload = json!({"step": 0, "action": "invite", "account_id": "acc", "at": "2026-01-05T09:00:00Z"});
        let mut email = ev("b", 1);
        email.event_type = "StepStarted".into();
        email.payload = json!({"step": 0, "action": "email", "at": "2026-01-05T09:00:00Z"});
        let events = [ev("c", 1), invite, email];
        let (event_rows, action_rows) = rows(&events, 41).unwrap();
        assert_eq!(
            event_rows.iter().map(|r| r.position).collect::<Vec<_>>(),
            vec![42, 43, 44]
        );
        assert_eq!(action_rows.len(), 1);
        assert_eq!(action_rows[0].position, 43);
        assert_eq!(action_rows[0].action, "invite");
        assert_eq!(action_rows[0].account_id, "acc");
    }

    #[test]
    fn an_unreadable_payload_is_corrupt_not_skipped() {
        let record = EventRecord {
            position: 7,
            aggregate_type: "t".into(),
            aggregate_id: "a".into(),
            sequence: 1,
            event_type: "E".into(),
            event_version: "1".into(),
            payload: "{not json".into(),
        };
        assert!(matches!(
            stored(vec![record]),
            Err(StoreError::Corrupt { position: 7, .. })
        ));
    }

    #[test]
    fn aggregates_are_listed_once_in_order() {
        let events = [ev("b", 1), ev("a", 1), ev("b", 2)];
        assert_eq!(aggregates(&events), vec![("t", "b"), ("t", "a")]);
    }
}
