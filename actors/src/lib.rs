//! plera-actors
