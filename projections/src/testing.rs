//! Helpers of the views' unit tests: a log builder and the in-memory runner.

use chrono::{DateTime, Duration, TimeZone, Utc};
use plera_domain::campaign::CampaignEvent;
use plera_domain::conversation::ConversationEvent;
use plera_domain::lead::LeadSequenceEvent;
use plera_domain::sender::SenderAccountEvent;

use crate::envelope::{Decoded, Event};
use crate::memory::MemoryTables;
use crate::projection::Projection;

/// 2026-03-02 (a Monday) at `h:m` UTC.
pub fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0)
        .single()
        .expect("a valid test time")
}

/// `t(h, m)` plus `days` days.
pub fn day(days: i64, h: u32, m: u32) -> DateTime<Utc> {
    t(h, m) + Duration::days(days)
}

/// A log under construction: positions are given in order from 1.
#[derive(Default)]
pub struct Log {
    /// The events so far.
    pub events: Vec<Decoded>,
}

impl Log {
    fn push(&mut self, aggregate_id: &str, event: Event) -> &mut Self {
        let position = self.events.len() as u64 + 1;
        self.events.push(Decoded {
            position,
            aggregate_id: aggregate_id.into(),
            event,
        });
        self
    }

    /// A `lead_sequence` event.
    pub fn lead(&mut self, sequence: &str, event: LeadSequenceEvent) -> &mut Self {
        self.push(sequence, Event::Lead(event))
    }

    /// A `sender_account` event.
    pub fn sender(&mut self, account: &str, event: SenderAccountEvent) -> &mut Self {
        self.push(account, Event::Sender(event))
    }

    /// A `campaign` event.
    pub fn campaign(&mut self, campaign: &str, event: CampaignEvent) -> &mut Self {
        self.push(campaign, Event::Campaign(event))
    }

    /// A `conversation` event.
    pub fn conversation(&mut self, id: &str, event: ConversationEvent) -> &mut Self {
        self.push(id, Event::Conversation(event))
    }
}

/// Applies `events` to `view` in batches of `batch` events.
pub fn run(view: &dyn Projection, events: &[Decoded], batch: usize) -> MemoryTables {
    let mut tables = MemoryTables::new();
    for chunk in events.chunks(batch.max(1)) {
        tables.apply(view, chunk).expect("the batch applies");
    }
    tables
}

/// Applies `events` in one batch, in batches of one and of three, checks all three give the
/// same rows, and returns them.
pub fn run_all_ways(view: &dyn Projection, events: &[Decoded]) -> MemoryTables {
    let whole = run(view, events, events.len());
    for batch in [1, 3] {
        assert_eq!(
            run(view, events, batch),
            whole,
            "batches of {batch} must give the rows one batch gives"
        );
    }
    whole
}

/// Applies `events` as one batch to empty tables and returns how many runs of the fold it took.
pub fn rounds(view: &dyn Projection, events: &[Decoded]) -> usize {
    MemoryTables::new()
        .apply(view, events)
        .expect("the batch applies")
        .rounds
}
