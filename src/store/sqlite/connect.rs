//! Opening the SQLite file: connection options, the pools, migrations.
use std::path::Path;

use anyhow::Context;
use futures::future::BoxFuture;
use sqlx::{
    Connection,
    pool::PoolConnectionMetadata,
    sqlite::{SqliteConnection, SqlitePool},
};

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Applies the embedded migrations (`user-service migrate` and start-up).
pub async fn migrate(pool: &SqlitePool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("cannot apply the store's migrations")
}

/// False for a connection still inside a transaction once its queued
/// rollback has run (the ping waits for it). SQLite rolls a transaction back
/// by itself on some errors (disk full, I/O error); sqlx's own ROLLBACK then
/// fails, leaves it counting an open transaction, and every later BEGIN on
/// that connection fails too: the pool replaces such a connection.
pub(super) fn settled(
    conn: &mut SqliteConnection,
    _: PoolConnectionMetadata,
) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if conn.is_in_transaction() {
            conn.ping().await?;
        }
        Ok(!conn.is_in_transaction())
    })
}

/// With `store.migrate = false` the schema must be there already: saying so
/// at start-up beats "no such table" on the first call.
pub(super) async fn check_migrated(pool: &SqlitePool) -> anyhow::Result<()> {
    let tracked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await
    .context("cannot read the store's schema version")?;
    let applied: Vec<i64> = match tracked {
        true => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
            .context("cannot read the store's schema version")?,
        false => Vec::new(),
    };
    crate::store::require_migrations(&MIGRATOR, &applied)
}

pub(super) fn namespace(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}
