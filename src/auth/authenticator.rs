//! The decision on one call: its method's access, its credential (a
//! bearer token, cached or verified, or a mapped client certificate), and
//! the scope check.
use std::sync::Arc;

use http::header::AUTHORIZATION;
use prometheus::Registry;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use super::{
    Access, Decision, Denial, Outcome, Pending, Principal, bearer,
    cache::Cache,
    identity::Identities,
    metrics::AuthMetrics,
    scopes,
    source::{self, Keys},
    unix_now,
    verify::{Verified, Verifier},
};
use crate::{
    methods::RpcPath,
    settings::{AuthMode, AuthSettings},
};

/// Decides who may make which call; shared by every connection.
pub struct Authenticator {
    /// What each method of the method table needs, by index.
    access: Vec<Access>,
    verifier: Verifier,
    keys: Arc<Keys>,
    accepts_tokens: bool,
    tokens: Cache<Arc<Principal>>,
    identities: Identities,
    /// Verdicts on client certificates (`None`: not a mapped identity).
    certificates: Cache<Option<Arc<Principal>>>,
    metrics: Option<AuthMetrics>,
    /// Keeps the keys fresh; ends with the authenticator.
    refresher: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("accepts_tokens", &self.accepts_tokens)
            .finish_non_exhaustive()
    }
}

impl Drop for Authenticator {
    fn drop(&mut self) {
        if let Some(refresher) = &self.refresher {
            refresher.abort();
        }
    }
}

impl Authenticator {
    /// The authenticator `settings` ask for, or `None` when `auth.mode` is
    /// `none` (announced by a warning: every caller may call every method).
    /// Outcomes are counted into `registry` when given. Keys from a URL are
    /// fetched by a task started here, so call this inside a runtime.
    pub fn from_settings(
        settings: &AuthSettings,
        registry: Option<&Registry>,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        if settings.mode == AuthMode::None {
            tracing::warn!(
                "auth.off: auth.mode is none, so every caller may call every method; set auth.mode = \"jwt\" outside development"
            );
            return Ok(None);
        }
        let keys = Arc::new(Keys::new(settings)?);
        let mut authenticator = Self {
            access: scopes::access_table(settings.protect_reflection),
            verifier: Verifier::new(settings)?,
            keys,
            accepts_tokens: settings.accepts_tokens(),
            tokens: Cache::new(settings.token_cache_size),
            identities: Identities::new(settings)?,
            certificates: Cache::new(settings.token_cache_size),
            metrics: registry.map(AuthMetrics::register).transpose()?,
            refresher: None,
        };
        // Started last, so a failure above leaves no task behind.
        if authenticator.keys.reloadable() {
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| anyhow::anyhow!("the JWKS refresh needs a Tokio runtime"))?;
            let refresh =
                source::refresh(authenticator.keys.clone(), settings.jwks_refresh_interval);
            authenticator.refresher = Some(runtime.spawn(refresh));
        }
        Ok(Some(Arc::new(authenticator)))
    }

    /// Decides on `request`, without waiting unless its token names a key
    /// not loaded yet.
    pub(crate) fn decide<B>(self: &Arc<Self>, request: &http::Request<B>) -> Decision {
        let method = RpcPath::parse(request.uri().path()).known();
        let access = self.access[method.index];
        if access == Access::Open {
            return Decision::Open;
        }
        let principal = match request.headers().get(AUTHORIZATION) {
            Some(value) => match bearer(value.as_bytes()) {
                Some(token) => match self.token(token) {
                    Check::Done(result) => result,
                    Check::Reload(token) => {
                        return Decision::Pending(self.after_reload(token.to_owned(), access));
                    }
                },
                None => Err(Denial::invalid("authorization is not `Bearer <token>`")),
            },
            None => self.certificate(request).ok_or_else(Denial::missing),
        };
        match principal.and_then(|principal| authorize(access, principal)) {
            Ok(principal) => Decision::Allow(principal),
            Err(denial) => Decision::Deny(denial),
        }
    }

    /// Counts a decision's outcome.
    pub(crate) fn record(&self, outcome: Outcome) {
        if let Some(metrics) = &self.metrics {
            metrics.record(outcome);
        }
    }

    /// The principal a token stands for: remembered (looked up by its
    /// bytes, as sent), or verified now.
    fn token<'a>(&self, token: &'a [u8]) -> Check<'a> {
        if !self.accepts_tokens {
            return Check::Done(Err(Denial::invalid(
                "this server takes client certificates, not tokens",
            )));
        }
        let now = unix_now();
        let generation = self.keys.generation();
        if let Some(principal) = self.tokens.get(token, generation, now) {
            return Check::Done(Ok(principal));
        }
        match std::str::from_utf8(token) {
            Ok(token) => self.verify(token, generation, now),
            Err(_) => Check::Done(Err(Denial::invalid(
                "the token is not a JWT (bytes outside base64url)",
            ))),
        }
    }

    fn verify<'a>(&self, token: &'a str, generation: u64, now: u64) -> Check<'a> {
        match self.verifier.verify(token, &self.keys.current()) {
            Ok(Verified::Valid(principal, valid_until)) => {
                let principal = Arc::new(principal);
                let bytes = token.as_bytes();
                self.tokens
                    .insert(bytes, principal.clone(), generation, valid_until, now);
                Check::Done(Ok(principal))
            }
            Ok(Verified::UnknownKid) if self.keys.reloadable() => Check::Reload(token),
            Ok(Verified::UnknownKid) => Check::Done(Err(Denial::unknown_key())),
            Err(denial) => Check::Done(Err(denial)),
        }
    }

    /// Reloads the keys (at most once per refetch interval), then decides.
    fn after_reload(self: &Arc<Self>, token: String, access: Access) -> Pending {
        let this = self.clone();
        Box::pin(async move {
            this.keys.reload(true).await;
            let principal = match this.verify(&token, this.keys.generation(), unix_now()) {
                Check::Done(result) => result?,
                Check::Reload(_) if this.keys.current().len() == 0 => {
                    return Err(Denial::unavailable());
                }
                Check::Reload(_) => return Err(Denial::unknown_key()),
            };
            authorize(access, principal)
        })
    }

    /// The principal a verified client certificate stands for, if mapped.
    fn certificate<B>(&self, request: &http::Request<B>) -> Option<Arc<Principal>> {
        if self.identities.is_empty() {
            return None;
        }
        let connection = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()?;
        let certificates = connection.peer_certs()?;
        let leaf = certificates.first()?;
        let now = unix_now();
        if let Some(verdict) = self.certificates.get(leaf, 0, now) {
            return verdict;
        }
        // rustls checked the certificate's validity at the handshake.
        let verdict = self.identities.principal(leaf);
        self.certificates
            .insert(leaf, verdict.clone(), 0, u64::MAX, now);
        verdict
    }
}

/// A token check: done, or waiting for a reload of the keys.
enum Check<'a> {
    Done(Result<Arc<Principal>, Denial>),
    Reload(&'a str),
}

/// The scope check, once the caller is known.
fn authorize(access: Access, principal: Arc<Principal>) -> Result<Arc<Principal>, Denial> {
    match access {
        Access::Scope(scope) if !principal.scopes.contains(scope) => {
            Err(Denial::insufficient_scope(scope))
        }
        _ => Ok(principal),
    }
}
