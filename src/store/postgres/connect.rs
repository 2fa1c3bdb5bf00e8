//! Reaching the database: connection options from the settings (the
//! password from a secret or a file), the pool, and the migrations, applied
//! under an advisory lock so replicas starting together take turns.
use std::str::FromStr;

use anyhow::Context;
use sqlx::{
    Connection,
    postgres::{PgConnectOptions, PgSslMode},
};

use super::pool::Pool;
use crate::{directory::StoreInfo, settings::StoreSettings};

pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The advisory lock the migrations are applied under: one key for every
/// replica of the service on a database ("user-svc" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x7573_6572_2d73_7663;

/// The connection options `settings` describe.
pub(super) fn options(settings: &StoreSettings) -> anyhow::Result<PgConnectOptions> {
    // The URL holds no password (settings validation refuses one), so the
    // driver's message may be shown as it is.
    let mut options = PgConnectOptions::from_str(&settings.url)
        .context("store.url is not a valid PostgreSQL URL")?;
    if let Some(password) = password(settings)? {
        options = options.password(&password);
    }
    let ssl_mode = PgSslMode::from_str(&settings.sslmode).context("store.sslmode")?;
    options = options.ssl_mode(ssl_mode).application_name("user-service");
    if !settings.ssl_root_cert.is_empty() {
        options = options.ssl_root_cert(&settings.ssl_root_cert);
    }
    let bound = format!("{}ms", settings.statement_timeout.as_millis());
    // The store's transactions are a few statements sent back to back: one
    // idle in a transaction for as long as a statement may run belongs to a
    // replica that stalled, and its row locks would block the other replicas.
    Ok(options.options([
        ("statement_timeout", bound.clone()),
        ("idle_in_transaction_session_timeout", bound),
    ]))
}

/// The password: `store.password`, else the contents of
/// `store.password_file` without its trailing newline, else none (the URL's
/// user needs none, or `PGPASSWORD` / `.pgpass` supply it).
fn password(settings: &StoreSettings) -> anyhow::Result<Option<String>> {
    if !settings.password.is_empty() {
        return Ok(Some(settings.password.expose().to_owned()));
    }
    if settings.password_file.is_empty() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&settings.password_file)
        .with_context(|| format!("cannot read store.password_file {}", settings.password_file))?;
    let password = text.strip_suffix('\n').unwrap_or(&text);
    Ok(Some(
        password.strip_suffix('\r').unwrap_or(password).to_owned(),
    ))
}

/// How the store names itself in telemetry.
pub(super) fn info(options: &PgConnectOptions) -> StoreInfo {
    StoreInfo {
        system: "postgresql",
        namespace: options
            .get_database()
            .unwrap_or_else(|| options.get_username())
            .to_owned(),
        server: Some((options.get_host().to_owned(), options.get_port())),
    }
}

/// Applies the embedded migrations on a session of its own that holds
/// [`MIGRATION_LOCK`] meanwhile: replicas starting at once apply them one
/// after the other (the later ones find nothing left to do). Closing the
/// session releases the lock, also when a migration fails.
pub(super) async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    // Outside the pool, so closing it ends the session for sure.
    let mut conn = pool
        .connect_detached()
        .await
        .context("cannot connect to PostgreSQL to apply the migrations")?;
    // A migration (or the wait for another replica's) may outlast the
    // bound on a call's statements.
    sqlx::raw_sql("SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0")
        .execute(&mut conn)
        .await
        .context("cannot prepare the migration session")?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut conn)
        .await
        .context("cannot take the migration lock")?;
    let applied = MIGRATOR
        .run(&mut conn)
        .await
        .context("cannot apply the store's migrations");
    conn.close()
        .await
        .context("cannot close the migration session")?;
    applied
}

/// With `store.migrate = false` the schema must be there already: saying so
/// at start-up beats "relation does not exist" on the first call.
pub(super) async fn check_migrated(pool: &Pool) -> anyhow::Result<()> {
    let mut conn = pool
        .acquire()
        .await
        .context("cannot read the store's schema version")?;
    let tracked: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .context("cannot read the store's schema version")?;
    let applied: Vec<i64> = match tracked {
        true => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut *conn)
            .await
            .context("cannot read the store's schema version")?,
        false => Vec::new(),
    };
    conn.release();
    crate::store::require_migrations(&MIGRATOR, &applied)
}
