//! Combinations of `[auth]` settings that cannot work, refused at
//! start-up naming the key.
use std::time::Duration;

use super::{ASYMMETRIC_ALGORITHMS, AuthMode, AuthSettings};
use crate::settings::validate::{Invalid, invalid};

/// Returns the first impossible `[auth]` setting. `mutual_tls` says whether
/// client certificates are verified (`tls.client_ca_file`).
pub(in crate::settings) fn validate(auth: &AuthSettings, mutual_tls: bool) -> Result<(), Invalid> {
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
        crate::auth::check_jwks_file(&auth.jwks_file, auth.jwks_max_size)
            .map_err(|err| invalid("auth.jwks_file", err))?;
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
