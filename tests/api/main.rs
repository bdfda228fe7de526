//! The one integration-test binary: real server, real HTTP, real databases.

mod helpers;

mod admin_page;
mod conformance;
mod delivery;
mod enrichment;
mod docs_commands;
mod errors;
mod groups;
mod metrics;
mod outbox;
mod users;
