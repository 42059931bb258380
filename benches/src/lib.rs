#![warn(missing_docs)]
//! plera's benchmarks (issue 8): the command path against plain cqrs-es and raw inserts, replay
//! against raw reads and cqrs-es's `QueryReplay`, the simulation's wall time, resident memory per
//! lead and per sender, and inbound ingest; and (issue 10) throughput with several engine nodes on
//! one PostgreSQL. Each is a function returning [`report::Figure`]s; the
//! `plera-bench` binary runs them and prints one table. `BENCHMARKS.md` holds the results.
//!
//! These are long-running measurements against real databases, so they live in binaries rather
//! than in `cargo test` or criterion's iteration model: a run sets up a store, times one phase of
//! real work, and compares figures measured side by side in the same process.

pub mod command;
pub mod cqrs_baseline;
pub mod db;
pub mod ingest;
pub mod machine;
pub mod memory;
pub mod nodes;
pub mod raw;
pub mod replay;
pub mod report;
pub mod rig;
pub mod simulate;
pub mod synth;
pub mod timing;
pub mod whatif;
