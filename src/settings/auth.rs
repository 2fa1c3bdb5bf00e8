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

/// Returns the first impossible `[auth]` setting. `mutual_tls` says whether
/// client certificates are verified (`tls.client_ca_file`).
pub(super) fn validate(auth: &AuthSettings, mutual_tls: bool) -> Result<(), Invalid> {
    for algorithm in &auth.algorithms {
        if !ASYMMETRIC_ALGORITHMS.contains(&algorithm.as_str()) {
            return Err(invalid(
                "auth.algorithms",
                format!(
                    "{algorithm:?} is not an accepted asymmetric algorithm ({}); HS256 is accepted only through auth.hmac_secret",
                    ASYMMETRIC_ALGORITHMS.join(", ")
                ),
            ));
        }
    }
    let secret = auth.hmac_secret.expose();
    if !secret.is_empty() && secret.len() < 32 {
        return Err(invalid(
            "auth.hmac_secret",
            "must be at least 32 bytes (HS256 needs a key as long as its hash), or empty",
        ));
    }
    if !auth.jwks_file.as_os_str().is_empty() && !auth.jwks_url.is_empty() {
        return Err(invalid(
            "auth.jwks_url",
            "cannot be set with auth.jwks_file: keys come from one source",
        ));
    }
    let url = &auth.jwks_url;
    let has_scheme = url.starts_with("http://") || url.starts_with("https://");
    if !url.is_empty() && !has_scheme {
        return Err(invalid(
            "auth.jwks_url",
            "must start with http:// or https://",
        ));
    }
    let identities = auth.identities()?;
    if !identities.is_empty() && !mutual_tls {
        return Err(invalid(
            "auth.mtls_identities",
            "needs mutual TLS (tls.client_ca_file): only verified certificates name callers",
        ));
    }
    let durations = [
        ("auth.jwks_refresh_interval", auth.jwks_refresh_interval),
        ("auth.jwks_refetch_interval", auth.jwks_refetch_interval),
        ("auth.jwks_fetch_timeout", auth.jwks_fetch_timeout),
    ];
    if let Some((key, _)) = durations.iter().find(|(_, value)| value.is_zero()) {
        return Err(invalid(key, "must be greater than 0"));
    }
    if auth.leeway > Duration::from_secs(300) {
        return Err(invalid("auth.leeway", "must be at most 5m"));
    }
    if auth.jwks_max_size < 64 {
        return Err(invalid("auth.jwks_max_size", "must be at least 64 bytes"));
    }
    if auth.mode == AuthMode::None {
        return Ok(());
    }
    if !auth.jwks_file.as_os_str().is_empty() {
        let path = auth.jwks_file.display();
        let document = std::fs::read(&auth.jwks_file)
            .map_err(|err| invalid("auth.jwks_file", format!("cannot read {path}: {err}")))?;
        if document.len() as u64 > auth.jwks_max_size {
            return Err(invalid(
                "auth.jwks_file",
                format!("{path} is larger than auth.jwks_max_size"),
            ));
        }
        crate::auth::check_jwks(&document)
            .map_err(|err| invalid("auth.jwks_file", format!("{path}: {err}")))?;
    }
    if !auth.accepts_tokens() && identities.is_empty() {
        return Err(invalid(
            "auth.mode",
            "jwt needs auth.jwks_file, auth.jwks_url or auth.hmac_secret (or auth.mtls_identities)",
        ));
    }
    if auth.accepts_tokens() {
        if auth.issuer.trim().is_empty() {
            return Err(invalid("auth.issuer", "must be set when auth.mode is jwt"));
        }
        if auth
            .audiences
            .iter()
            .all(|audience| audience.trim().is_empty())
        {
            return Err(invalid(
                "auth.audiences",
                "must name at least one audience when auth.mode is jwt",
            ));
        }
        let asymmetric_source = !auth.jwks_file.as_os_str().is_empty() || !url.is_empty();
        if asymmetric_source && auth.algorithms.is_empty() {
            return Err(invalid(
                "auth.algorithms",
                "must name at least one algorithm for keys from a JWKS",
            ));
        }
    }
    if auth.token_cache_size == 0 {
        return Err(invalid("auth.token_cache_size", "must be at least 1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
