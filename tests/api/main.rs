//! The one integration-test binary: real server, real HTTP, real databases.

mod helpers;

mod conformance;
mod delivery;
mod errors;
mod groups;
mod outbox;
mod security;
mod users;
