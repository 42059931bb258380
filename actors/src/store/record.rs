use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::de::DeserializeOwned;

use super::{NewEvent, StoreError, StoredEvent};

/// An aggregate held in memory with the sequence of its last stored event: the unit the actors
/// own. Commands run against a copy, so a refused command or a failed append leaves it untouched,
/// and a command costs the same whatever the length of the aggregate's history.
#[derive(Clone, Debug, Default)]
pub struct Tracked<A: Aggregate> {
    /// The current state.
    pub state: A,
    /// Sequence of the last stored event (0 for a new aggregate).
    pub version: u64,
}

/// The outcome of deciding a command: the next state and the events to append for it.
pub struct Decision<A: Aggregate> {
    /// The state after the events.
    pub next: Tracked<A>,
    /// The events, in order.
    pub events: Vec<A::Event>,
    /// The events ready to append.
    pub records: Vec<NewEvent>,
}

impl<A: Aggregate<Services = ()>> Tracked<A> {
    /// Runs `command` on a copy of the state: the events it yields and the state after them.
    pub async fn decide(&self, id: &str, command: A::Command) -> Result<Decision<A>, A::Error>
    where
        A: Clone,
    {
        let mut next = self.state.clone();
        let sink = EventSink::default();
        next.handle(command, &(), &sink).await?;
        let events = sink.collect().await;
        let records = encode::<A>(id, self.version, &events);
        Ok(Decision {
            next: Tracked {
                state: next,
                version: self.version + events.len() as u64,
            },
            events,
            records,
        })
    }

    /// Applies stored events (a rebuild).
    pub fn apply_stored(&mut self, event: A::Event, sequence: u64) {
        self.state.apply(event);
        self.version = sequence;
    }
}

/// Serialises events of aggregate `id` that follow `version`.
pub fn encode<A: Aggregate>(id: &str, version: u64, events: &[A::Event]) -> Vec<NewEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| NewEvent {
            aggregate_type: A::TYPE.to_string(),
            aggregate_id: id.to_string(),
            sequence: version + i as u64 + 1,
            event_type: e.event_type(),
            event_version: e.event_version(),
            // Domain events are plain data (strings, numbers, enums): serialising cannot fail.
            payload: serde_json::to_value(e).unwrap_or(serde_json::Value::Null),
        })
        .collect()
}

/// Reads a stored event back as `E` (from the payload in place: start-up decodes every event of
/// the log, and a copy of each payload's tree first would double that work).
pub fn decode<E: DeserializeOwned>(stored: &StoredEvent) -> Result<E, StoreError> {
    E::deserialize(&stored.payload).map_err(|e| StoreError::Corrupt {
        position: stored.position,
        reason: e.to_string(),
    })
}
