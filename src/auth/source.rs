//! Where the keys come from (a JWKS file or URL) and keeping them fresh: a
//! background refresh every `auth.jwks_refresh_interval`, and a reload when
//! a token names an unknown `kid`, at most once per
//! `auth.jwks_refetch_interval`. A document that cannot be read or parsed
//! never replaces keys that work: the last good keys stay, with a warning.
use std::{
    io::Read,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use super::{fetch, keys::KeySet};
use crate::settings::AuthSettings;

/// The current key set and how to reload it.
pub(crate) struct Keys {
    current: RwLock<Arc<KeySet>>,
    /// Bumped whenever the set changes, so verdicts cached under older keys
    /// are not trusted any more (a key removed from the JWKS is revoked).
    generation: AtomicU64,
    source: Source,
    /// The document the current set came from: an unchanged one is not
    /// parsed again.
    document: Mutex<Vec<u8>>,
    /// When the last reload started; held across a reload so concurrent
    /// callers wait for it instead of starting their own.
    last_reload: tokio::sync::Mutex<Option<Instant>>,
    refetch_interval: Duration,
    max_size: u64,
}

enum Source {
    /// Only HMAC or mTLS identities: no key set.
    None,
    File(PathBuf),
    Url(fetch::Fetcher),
}

impl Keys {
    /// Keys from the configured source. A file is read now (start-up fails
    /// on a missing or broken one); a URL is fetched by [`Keys::reload`],
    /// which the refresh task runs at once.
    pub(crate) fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let source = if !settings.jwks_file.as_os_str().is_empty() {
            Source::File(settings.jwks_file.clone())
        } else if !settings.jwks_url.is_empty() {
            Source::Url(fetch::Fetcher::new(
                &settings.jwks_url,
                settings.jwks_fetch_timeout,
                settings.jwks_max_size,
            )?)
        } else {
            Source::None
        };
        let keys = Self {
            current: RwLock::new(Arc::new(KeySet::default())),
            generation: AtomicU64::new(0),
            source,
            document: Mutex::new(Vec::new()),
            last_reload: tokio::sync::Mutex::new(None),
            refetch_interval: settings.jwks_refetch_interval,
            max_size: settings.jwks_max_size,
        };
        if let Source::File(path) = &keys.source {
            let document = read_file(path, keys.max_size)?;
            let set = KeySet::parse(&document)
                .map_err(|err| anyhow::anyhow!("auth.jwks_file {}: {err}", path.display()))?;
            keys.replace(set, document);
        }
        Ok(keys)
    }

    /// The current set.
    pub(crate) fn current(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The current set's generation.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// True when a URL or file can be reloaded.
    pub(crate) fn reloadable(&self) -> bool {
        !matches!(self.source, Source::None)
    }

    /// Reloads the document. `on_demand` (an unknown `kid`) reloads only
    /// if the last reload is older than the refetch interval. Returns
    /// after any reload in progress has finished.
    pub(crate) async fn reload(&self, on_demand: bool) {
        let mut last = self.last_reload.lock().await;
        if on_demand && last.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return;
        }
        *last = Some(Instant::now());
        let document = match &self.source {
            Source::None => return,
            Source::File(path) => read_file(path, self.max_size).map_err(|err| format!("{err:#}")),
            Source::Url(fetcher) => fetcher.get().await,
        };
        let document = match document {
            Ok(document) => document,
            Err(err) => {
                match self.current().len() {
                    0 => tracing::warn!(
                        error = %err,
                        "auth.jwks_unavailable: no keys yet; calls with tokens are answered UNAVAILABLE"
                    ),
                    keys => tracing::warn!(
                        error = %err,
                        keys,
                        "auth.jwks_unavailable: keeping the last good keys"
                    ),
                }
                return;
            }
        };
        if *self.document.lock().unwrap_or_else(PoisonError::into_inner) == document {
            return;
        }
        match KeySet::parse(&document) {
            Ok(set) => {
                tracing::info!(keys = set.len(), "auth.jwks_loaded");
                self.replace(set, document);
            }
            Err(err) => {
                let keys = self.current().len();
                tracing::warn!(error = %err, keys, "auth.jwks_invalid: keeping the last good keys");
            }
        }
    }

    fn replace(&self, set: KeySet, document: Vec<u8>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
        *self.document.lock().unwrap_or_else(PoisonError::into_inner) = document;
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// Reloads `keys` every `interval` (the first time at once) for as long as
/// the task runs.
pub(crate) async fn refresh(keys: Arc<Keys>, interval: Duration) {
    loop {
        keys.reload(false).await;
        tokio::time::sleep(interval).await;
    }
}

/// Reads at most `max_size` bytes of `path`; a larger file is an error.
pub(super) fn read_file(path: &Path, max_size: u64) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    let mut document = Vec::new();
    file.take(max_size.saturating_add(1))
        .read_to_end(&mut document)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    if document.len() as u64 > max_size {
        anyhow::bail!("{} is larger than auth.jwks_max_size", path.display());
    }
    Ok(document)
}
