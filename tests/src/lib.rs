//! plera-tests
