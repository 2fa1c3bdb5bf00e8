//! `[auth]`: who may call (DESIGN.md §11). `mode = "none"` lets every call
//! in; `"jwt"` asks for a bearer token signed by a key of the configured
//! JWKS (or, under mutual TLS, a client certificate mapped to scopes).
use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    Secret, size,
    validate::{Invalid, invalid},
};

/// Whether calls are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every call is let in (announced by a warning at start-up).
    None,
    /// Bearer JWTs (and mapped mTLS identities) are required.
    Jwt,
}

/// `[auth]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `none` or `jwt`.
    pub mode: AuthMode,
    /// A JWKS file (reloaded when it changes). One of this, `jwks_url` or
    /// `hmac_secret` is needed for tokens.
    pub jwks_file: PathBuf,
    /// A JWKS URL (`http://` or `https://`), cached and refetched.
    pub jwks_url: String,
    /// The `iss` every token must carry.
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one.
    #[serde(deserialize_with = "list", serialize_with = "list_out")]
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// Asymmetric algorithms accepted (RS256, RS384, RS512, PS256, PS384,
    /// PS512, ES256, ES384, EdDSA).
    #[serde(deserialize_with = "list", serialize_with = "list_out")]
    pub algorithms: Vec<String>,
    /// A shared secret for HS256 tokens; empty: HMAC is never accepted.
    pub hmac_secret: Secret,
    /// Require a token with `users.read` for reflection too.
    pub protect_reflection: bool,
    /// Client certificate identities under mutual TLS, each
    /// `"IDENTITY=SCOPE SCOPE…"`, IDENTITY a URI SAN (`spiffe://…`) or a DNS
    /// SAN of the verified certificate.
    #[serde(deserialize_with = "list", serialize_with = "list_out")]
    pub mtls_identities: Vec<String>,
    /// How often the JWKS file is checked for changes and the URL refetched.
    #[serde(with = "humantime_serde")]
    pub jwks_refresh_interval: Duration,
    /// A token with an unknown `kid` reloads the keys at most this often.
    #[serde(with = "humantime_serde")]
    pub jwks_refetch_interval: Duration,
    /// Bound on one JWKS fetch.
    #[serde(with = "humantime_serde")]
    pub jwks_fetch_timeout: Duration,
    /// Largest JWKS document read, from the URL or the file.
    #[serde(with = "size")]
    pub jwks_max_size: u64,
    /// Verified tokens remembered (until their `exp`), so a reused token
    /// pays its signature check once.
    pub token_cache_size: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: AuthMode::None,
            jwks_file: PathBuf::new(),
            jwks_url: String::new(),
            issuer: String::new(),
            audiences: Vec::new(),
            leeway: Duration::from_secs(30),
            algorithms: ["RS256", "ES256", "EdDSA"].map(str::to_owned).to_vec(),
            hmac_secret: Secret::default(),
            protect_reflection: false,
            mtls_identities: Vec::new(),
            jwks_refresh_interval: Duration::from_secs(300),
            jwks_refetch_interval: Duration::from_secs(30),
            jwks_fetch_timeout: Duration::from_secs(5),
            jwks_max_size: 1 << 20,
            token_cache_size: 10_000,
        }
    }
}

/// The asymmetric algorithms `auth.algorithms` may name.
pub const ASYMMETRIC_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// One `auth.mtls_identities` entry, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtlsIdentity<'a> {
    /// A URI SAN or DNS SAN.
    pub identity: &'a str,
    /// The scopes it stands for.
    pub scopes: Vec<&'a str>,
}

impl AuthSettings {
    /// The mTLS identity entries, parsed (validated at start-up).
    pub fn identities(&self) -> Result<Vec<MtlsIdentity<'_>>, Invalid> {
        self.mtls_identities
            .iter()
            .map(|entry| {
                let (identity, scopes) = entry.split_once('=').ok_or_else(|| {
                    invalid(
                        "auth.mtls_identities",
                        format!("{entry:?} is not IDENTITY=SCOPE SCOPE…"),
                    )
                })?;
                let identity = identity.trim();
                let scopes: Vec<&str> = scopes.split_whitespace().collect();
                if identity.is_empty() || scopes.is_empty() {
                    return Err(invalid(
                        "auth.mtls_identities",
                        format!("{entry:?} needs an identity and at least one scope"),
                    ));
                }
                if let Some(unknown) = scopes
                    .iter()
                    .find(|scope| crate::auth::Scope::from_name(scope).is_none())
                {
                    return Err(invalid(
                        "auth.mtls_identities",
                        format!("{entry:?} names the unknown scope {unknown:?} (users.read, users.write)"),
                    ));
                }
                Ok(MtlsIdentity { identity, scopes })
            })
            .collect()
    }

    /// True when tokens can be verified (some key source is configured).
    pub fn accepts_tokens(&self) -> bool {
        !self.jwks_file.as_os_str().is_empty()
            || !self.jwks_url.is_empty()
            || !self.hmac_secret.is_empty()
    }
}

/// A list given as a list (files) or as one comma-separated string
/// (environment variables: `USER_SERVICE__AUTH__AUDIENCES=a,b`).
fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
        OneOrMany::Many(items) => items,
    })
}

/// An empty list is written as `""`: the settings loader drops empty
/// arrays, and the key must stay known so a variable may set it.
fn list_out<S: Serializer>(items: &[String], serializer: S) -> Result<S::Ok, S::Error> {
    match items.is_empty() {
        true => serializer.serialize_str(""),
        false => items.serialize(serializer),
    }
}

mod checks;
#[cfg(test)]
mod tests;

pub(super) use checks::validate;
