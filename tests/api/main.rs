//! The one integration-test binary: real server, real HTTP, real databases.

mod helpers;

mod errors;
mod groups;
mod outbox;
mod users;
mod conformance;
