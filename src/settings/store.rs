//! `[store]` (where users are kept) and `[directory]` (the API's own knobs).
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    Secret,
    validate::{Invalid, invalid},
};

/// `[store]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// The database: `sqlite://PATH` (relative to the working directory; the
    /// file and its directory are created when missing) or
    /// `postgres://USER@HOST:PORT/DATABASE` (several replicas may share it;
    /// the password never goes in the URL).
    pub url: String,
    /// Apply the embedded schema migrations at start-up (else run
    /// `user-service migrate` first).
    pub migrate: bool,
    /// Connections for reads (SQLite writes use one connection of their own);
    /// for PostgreSQL, the pool's size.
    pub max_connections: u32,
    /// How long a call waits for a connection (a free one, or a new one to
    /// a database that refuses or does not answer) before UNAVAILABLE. Half
    /// of `timeout` by default: the rest of an operation's bound is left to
    /// its statements, and during a database outage a call is answered
    /// well within `timeout`.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Bound on one store operation (and SQLite's wait for its file lock);
    /// past it the call is UNAVAILABLE. The client's deadline bounds it too.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// SQLite `synchronous`: `full` (an acknowledged write survives power
    /// loss) or `normal` (survives a crash of the process, not of the machine).
    pub sqlite_synchronous: String,
    /// PostgreSQL: the password (prefer `password_file`). Never printed.
    pub password: Secret,
    /// PostgreSQL: a file holding the password (a mounted Kubernetes Secret),
    /// read when the store opens; one trailing newline is ignored.
    pub password_file: String,
    /// PostgreSQL: the server-side `statement_timeout` of every connection.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// PostgreSQL: TLS to the database, as libpq's `sslmode`: `disable`,
    /// `allow`, `prefer`, `require`, `verify-ca` or `verify-full`.
    pub sslmode: String,
    /// PostgreSQL: a PEM file of the CAs that sign the server's certificate
    /// (`verify-ca`, `verify-full`); empty: the system's roots.
    pub ssl_root_cert: String,
    /// How long a deleted user can be undeleted before it is purged.
    #[serde(with = "humantime_serde")]
    pub purge_after: Duration,
    /// How often the purge sweep runs.
    #[serde(with = "humantime_serde")]
    pub purge_interval: Duration,
    /// The most users one sweep transaction removes.
    pub purge_batch_size: u32,
    /// How often health checks the store (`user.v1.UserService`).
    #[serde(with = "humantime_serde")]
    pub health_interval: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/users.db".to_owned(),
            migrate: true,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            sqlite_synchronous: "full".to_owned(),
            password: Secret::default(),
            password_file: String::new(),
            statement_timeout: Duration::from_secs(2),
            sslmode: "prefer".to_owned(),
            ssl_root_cert: String::new(),
            purge_after: Duration::from_secs(30 * 24 * 3600),
            purge_interval: Duration::from_secs(60),
            purge_batch_size: 500,
            health_interval: Duration::from_secs(2),
        }
    }
}

/// `[directory]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySettings {
    /// Signs page tokens. Empty: a random secret kept in the store is used,
    /// which every replica sharing the store reads. Set it (from a secret
    /// store) to rotate it or to share tokens across stores.
    pub page_token_secret: Secret,
    /// How long a page token stays valid.
    #[serde(with = "humantime_serde")]
    pub page_token_lifetime: Duration,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self {
            page_token_secret: Secret::default(),
            page_token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// libpq's `sslmode` values.
const SSL_MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// The longest `purge_after`: ten years.
const MAX_PURGE_AFTER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Returns the first impossible store or directory setting.
pub(super) fn validate(
    store: &StoreSettings,
    directory: &DirectorySettings,
) -> Result<(), Invalid> {
    validate_url(store)?;
    if !matches!(store.sqlite_synchronous.as_str(), "full" | "normal") {
        return Err(invalid(
            "store.sqlite_synchronous",
            "must be full or normal",
        ));
    }
    if !SSL_MODES.contains(&store.sslmode.as_str()) {
        return Err(invalid(
            "store.sslmode",
            "must be disable, allow, prefer, require, verify-ca or verify-full",
        ));
    }
    if !store.password.is_empty() && !store.password_file.is_empty() {
        return Err(invalid(
            "store.password_file",
            "cannot be set together with store.password: choose one",
        ));
    }
    if store.max_connections == 0 {
        return Err(invalid("store.max_connections", "must be at least 1"));
    }
    if store.purge_batch_size == 0 {
        return Err(invalid("store.purge_batch_size", "must be at least 1"));
    }
    let durations = [
        ("store.acquire_timeout", store.acquire_timeout),
        ("store.timeout", store.timeout),
        ("store.statement_timeout", store.statement_timeout),
        ("store.purge_interval", store.purge_interval),
        ("store.health_interval", store.health_interval),
        (
            "directory.page_token_lifetime",
            directory.page_token_lifetime,
        ),
    ];
    if let Some((key, _)) = durations.iter().find(|(_, value)| value.is_zero()) {
        return Err(invalid(key, "must be greater than 0"));
    }
    if store.purge_after > MAX_PURGE_AFTER {
        return Err(invalid("store.purge_after", "must be at most 10 years"));
    }
    let secret = directory.page_token_secret.expose();
    if !secret.is_empty() && secret.len() < 16 {
        return Err(invalid(
            "directory.page_token_secret",
            "must be at least 16 bytes (or empty to use the store's own)",
        ));
    }
    Ok(())
}

/// `store.url` names an SQLite file or a PostgreSQL database whose URL holds
/// no password (the URL is printed by `user-service config` and may be
/// logged; the password belongs in `store.password` or `store.password_file`).
fn validate_url(store: &StoreSettings) -> Result<(), Invalid> {
    let url = store.url.as_str();
    if url.starts_with("sqlite:") {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(invalid(
                "store.url",
                "must name a file: an in-memory database loses every user at exit",
            ));
        }
        return Ok(());
    }
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return Err(invalid(
            "store.url",
            "must be an sqlite:// or a postgres:// URL, e.g. sqlite://data/users.db",
        ));
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let user_info = authority.rsplit_once('@').map(|(info, _)| info);
    if user_info.is_some_and(|info| info.contains(':')) || url.contains("password=") {
        return Err(invalid(
            "store.url",
            "must not hold the password: set store.password or store.password_file",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
