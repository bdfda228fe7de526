//! The SCIM 2.0 wire protocol: routes, auth, JSON, filters, PATCH. Knows nothing of vendors.

pub mod error;
pub mod filter_sql;
pub mod patch;
pub mod projection;
pub mod schema;
