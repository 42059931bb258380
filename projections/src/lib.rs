//! plera-projections
