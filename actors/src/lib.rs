//! plera-actors

pub mod store;
