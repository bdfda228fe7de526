//! The one integration-test binary: real server, real HTTP, real databases.

mod helpers;

mod admin_page;
mod audit_logs;
mod case_folding;
mod chaos;
mod concurrent_writes;
mod conformance;
mod conn_shelf;
mod create_batches;
mod delivery;
mod docs_commands;
mod enrichment;
mod errors;
mod gauge_counts;
mod group_sizes;
mod groups;
mod id_lookups;
mod list_bodies;
mod logs;
mod member_deletion_races;
mod metrics;
mod outbox;
mod paging;
mod reconcile;
mod replace_batches;
mod request_layers;
mod security;
mod slow_clients;
mod tcp_nodelay;
mod user_name_lookups;
mod users;
mod write_answers;
