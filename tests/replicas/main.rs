//! Replicas of the service on one PostgreSQL database behave as one
//! directory: writers spread over two replicas, four replicas starting at
//! once on an empty database, a database outage and its end, and
//! `user-service migrate`. Skipped (loudly, by `scripts/test.sh`) where
//! PostgreSQL's server binaries are not installed; required in CI.

mod cancel;
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

use postgres::PgServer;
use server::{Server, test_settings};
use user_service::settings::Settings;

/// Test settings of a replica on the database `url` names on `server`.
pub(crate) fn replica_settings(server: &PgServer, url: &str) -> Settings {
    let mut settings = test_settings(url);
    settings.store = server.store_settings(url);
    settings
}

/// Two replicas on a fresh database of the test binary's server; `None`
/// (the test is skipped) where PostgreSQL is not installed.
pub(crate) async fn two_replicas() -> Option<[Server; 2]> {
    let server = PgServer::shared()?;
    let url = server.fresh_database().await;
    Some([
        Server::start(replica_settings(server, &url)).await,
        Server::start(replica_settings(server, &url)).await,
    ])
}

/// Says why a test did nothing.
pub(crate) fn skipped(test: &str) {
    eprintln!("SKIPPED {test}: PostgreSQL's server binaries are not installed");
}
