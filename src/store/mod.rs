//! store
pub mod dialect;
