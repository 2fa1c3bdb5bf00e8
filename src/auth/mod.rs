//! Who may call (DESIGN.md §11): bearer JWTs checked against keys from a
//! JWKS file or URL (or an explicit HMAC secret), client certificates
//! mapped to scopes under mutual TLS, and the scope each method needs. The
//! decision is made by `layers::auth` before any handler runs.
mod authenticator;
mod cache;
mod caller;
mod denial;
mod fetch;
mod identity;
mod keys;
mod metrics;
pub mod scopes;
mod source;
mod verify;

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

pub use authenticator::Authenticator;
pub use caller::current_subject;
pub(crate) use caller::enter;
pub use denial::{Denial, Outcome};
pub use scopes::{Access, METHOD_SCOPES, Scope, Scopes};

/// How many usable signing keys the JWKS file at `path` holds (read up to
/// `max_size` bytes), or why it is unusable: start-up validation of
/// `auth.jwks_file`.
pub fn check_jwks_file(path: &std::path::Path, max_size: u64) -> Result<usize, String> {
    let document = source::read_file(path, max_size).map_err(|err| format!("{err:#}"))?;
    keys::KeySet::parse(&document)
        .map(|set| set.len())
        .map_err(|err| format!("{}: {err}", path.display()))
}

/// A caller that proved who it is.
#[derive(Debug)]
pub struct Principal {
    /// The token's `sub`, or the certificate identity.
    pub subject: Arc<str>,
    /// What it may do.
    pub scopes: Scopes,
}

/// A decision still waiting for the keys to be reloaded.
pub(crate) type Pending = Pin<Box<dyn Future<Output = Result<Arc<Principal>, Denial>> + Send>>;

/// What a call meets.
pub(crate) enum Decision {
    /// Needs nothing (health, open reflection).
    Open,
    /// Allowed, as this caller.
    Allow(Arc<Principal>),
    /// Refused.
    Deny(Denial),
    /// Its token names an unknown key: decided once the keys are reloaded.
    Pending(Pending),
}

/// The token of `Bearer <token>` (the scheme in any case, RFC 7235).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = token.trim_ascii();
    (!token.is_empty()).then_some(token)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bearer_with_a_token_is_a_bearer_token() {
        assert_eq!(bearer(b"Bearer abc.def.ghi"), Some(&b"abc.def.ghi"[..]));
        assert_eq!(bearer(b"bearer abc"), Some(&b"abc"[..]));
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Bearer    ",
            b"Basic dXNlcjpwYXNz",
            b"abc.def.ghi",
        ] {
            assert_eq!(bearer(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
