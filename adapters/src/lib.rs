//! plera-adapters
