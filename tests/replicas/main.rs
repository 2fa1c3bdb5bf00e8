//! Replicas of the service on one PostgreSQL database behave as one
//! directory: writers spread over two replicas, four replicas starting at
//! once on an empty database, a database outage and its end, and
//! `user-service migrate`. Skipped (loudly, by `scripts/test.sh`) where
//! PostgreSQL's server binaries are not installed; required in CI.

mod migrate;
mod outage;
mod paging;
mod startup;
mod writers;

#[path = "../common/postgres.rs"]
mod postgres;
#[path = "../common/process.rs"]
mod process;
#[allow(dead_code)] // the SQLite helpers are the directory tests'
#[path = "../directory/server.rs"]
mod server;
#[allow(dead_code)] // the directory tests use the rest
#[path = "../directory/support.rs"]
mod support;

use server::{Server, test_settings};

/// Two replicas on a fresh database of the test binary's server; `None`
/// (the test is skipped) where PostgreSQL is not installed.
pub(crate) async fn two_replicas() -> Option<[Server; 2]> {
    let url = postgres::PgServer::shared()?.fresh_database().await;
    Some([
        Server::start(test_settings(&url)).await,
        Server::start(test_settings(&url)).await,
    ])
}

/// Says why a test did nothing.
pub(crate) fn skipped(test: &str) {
    eprintln!("SKIPPED {test}: PostgreSQL's server binaries are not installed");
}
