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
    /// file and its directory are created when missing).
    pub url: String,
    /// Apply the embedded schema migrations at start-up (else run
    /// `user-service migrate` first).
    pub migrate: bool,
    /// Connections for reads (SQLite writes use one connection of their own).
    pub max_connections: u32,
    /// How long a call waits for a free connection before UNAVAILABLE.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Bound on one store operation (and SQLite's wait for its file lock);
    /// past it the call is UNAVAILABLE. The client's deadline bounds it too.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// SQLite `synchronous`: `full` (an acknowledged write survives power
    /// loss) or `normal` (survives a crash of the process, not of the machine).
    pub sqlite_synchronous: String,
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
            acquire_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
            sqlite_synchronous: "full".to_owned(),
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

/// The longest `purge_after`: ten years.
const MAX_PURGE_AFTER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Returns the first impossible store or directory setting.
pub(super) fn validate(
    store: &StoreSettings,
    directory: &DirectorySettings,
) -> Result<(), Invalid> {
    if !store.url.starts_with("sqlite:") {
        return Err(invalid(
            "store.url",
            "must be an sqlite:// URL, e.g. sqlite://data/users.db",
        ));
    }
    if store.url.contains(":memory:") || store.url.contains("mode=memory") {
        return Err(invalid(
            "store.url",
            "must name a file: an in-memory database loses every user at exit",
        ));
    }
    if !matches!(store.sqlite_synchronous.as_str(), "full" | "normal") {
        return Err(invalid(
            "store.sqlite_synchronous",
            "must be full or normal",
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
