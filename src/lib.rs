//! scim-bridge: a SCIM 2.0 server that turns Okta / Entra ID provisioning into vendor API
//! calls. See ARCHITECTURE.md for the code map and invariants.

pub mod admin;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod demo;
#[doc(hidden)]
pub mod fuzzing;
pub mod http_server;
pub mod request_id;
pub mod request_metrics;
pub mod scim;
pub mod sim;
pub mod simulated;
pub mod startup;
pub mod state;
pub mod store;
pub mod sync;
pub mod telemetry;
