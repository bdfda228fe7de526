//! The one integration-test binary: real server, real HTTP, real databases.

mod helpers;

mod conformance;
mod delivery;
mod docs_commands;
mod errors;
mod groups;
mod outbox;
mod users;
