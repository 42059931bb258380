//! plera-adapters

pub mod store;
