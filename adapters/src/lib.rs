#![warn(missing_docs)]
//! plera-adapters: the outside world behind the domain's ports (event stores, LinkedIn and email
//! gateways, the `plera` CLI), including the deterministic sandbox used by tests and simulations.

pub mod audit;
pub mod cli;
pub mod config;
pub mod email;
pub mod provider;
pub mod sandbox;
pub mod sandbox_http;
pub mod simulation;
pub mod store;
pub mod views;
pub mod webhook;

/// The allocator plera's binaries run on (`#[global_allocator] static A: Allocator = Allocator;`):
/// mimalloc rather than glibc's malloc, whose arenas spent a third of a rebuild's CPU on the many
/// small rows and keys the views and the engine allocate across threads (BENCHMARKS.md §2).
/// The benches run on it too, so that they measure what the `plera` binary does. Built without
/// transparent huge pages (the workspace's `no_thp` feature): a page handed back and touched again
/// cost the zeroing of 2 MiB each time. With the crate's default feature `c-malloc`, mimalloc
/// also replaces the process's C `malloc` (SQLite's allocations), whether or not a program uses
/// this allocator: an embedding program that must keep its own turns the feature off.
pub use mimalloc::MiMalloc as Allocator;
