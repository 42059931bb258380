//! Tests of the lead sequence: the aggregate's rules (TestFramework), the event JSON contract and
//! the schedule.

mod aggregate;
mod event_json;
mod schedule;
mod support;
