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

/// Applies the migrations and returns (`user-service migrate`).
pub async fn migrate(settings: &StoreSettings) -> anyhow::Result<()> {
    let settings = StoreSettings {
        migrate: true,
        ..settings.clone()
    };
    open(&settings).await.map(drop)
}
