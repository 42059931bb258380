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
