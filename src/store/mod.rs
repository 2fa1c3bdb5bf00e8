//! The store implementations behind [`crate::directory::UserStore`], chosen
//! by `store.url`, and the wrapper that traces, meters and bounds them.

mod instrumented;
mod listing;
mod metrics;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

pub use instrumented::Instrumented;
pub use metrics::StoreMetrics;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::{directory::UserStore, settings::StoreSettings};

/// True when `url` names a PostgreSQL database (else an SQLite file).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the store `settings.url` names, migrating it when
/// `settings.migrate`. The server wraps it in [`Instrumented`].
pub async fn open(settings: &StoreSettings) -> anyhow::Result<Arc<dyn UserStore>> {
    Ok(match is_postgres(&settings.url) {
        true => Arc::new(PostgresStore::open(settings).await?),
        false => Arc::new(SqliteStore::open(&settings.url, settings).await?),
    })
}

/// With `store.migrate = false`: fails, saying what to run, unless every
/// migration of `migrator` is among the `applied` versions.
fn require_migrations(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> anyhow::Result<()> {
    let missing = migrator
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
        .filter(|migration| !applied.contains(&migration.version))
        .count();
    if missing > 0 {
        anyhow::bail!(
            "the store lacks {missing} of the schema's migrations and store.migrate is false: \
             run `user-service migrate` first, or set store.migrate = true"
        );
    }
    Ok(())
}

/// Applies the migrations and returns (`user-service migrate`).
pub async fn migrate(settings: &StoreSettings) -> anyhow::Result<()> {
    let settings = StoreSettings {
        migrate: true,
        ..settings.clone()
    };
    open(&settings).await.map(drop)
}
