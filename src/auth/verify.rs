//! Checking one bearer token: its form, its algorithm against the
//! allow-list, its signature against the key its header selects, and its
//! `exp`, `nbf`, `iss` and `aud` (with the configured leeway), with
//! `jsonwebtoken` doing the cryptography and the claim checks.
use std::{str::FromStr, sync::Arc};

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use super::{
    Denial, Principal,
    keys::{KeySet, Lookup},
    scopes::Scopes,
};
use crate::settings::AuthSettings;

/// Longer tokens are refused before any parsing.
pub(crate) const MAX_TOKEN_LENGTH: usize = 8 * 1024;

/// What checking a token found.
pub(crate) enum Verified {
    /// A valid token, and until when (Unix seconds, leeway included).
    Valid(Principal, u64),
    /// The header names a key the set does not hold.
    UnknownKid,
}

/// The checks every token passes, fixed at start-up.
pub(crate) struct Verifier {
    /// One per allowed algorithm: jsonwebtoken wants every algorithm of a
    /// validation in the key's family.
    validations: Vec<Validation>,
    /// The HS256 key, only when `auth.hmac_secret` is set.
    hmac: Option<DecodingKey>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: f64,
    #[serde(default)]
    scope: Option<ScopeClaim>,
    #[serde(default)]
    scp: Option<ScopeClaim>,
}

/// `scope` is space-separated text; `scp` a list (some issuers send text).
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

impl ScopeClaim {
    fn scopes(&self) -> Scopes {
        match self {
            Self::Text(text) => Scopes::from_names(text.split_whitespace()),
            Self::List(names) => Scopes::from_names(names.iter().map(String::as_str)),
        }
    }
}

impl Verifier {
    /// The checks `settings` ask for.
    pub(crate) fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let algorithms = settings
            .algorithms
            .iter()
            .map(|name| {
                Algorithm::from_str(name)
                    .map_err(|_| anyhow::anyhow!("auth.algorithms: unknown algorithm {name}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let hmac = match settings.hmac_secret.is_empty() {
            true => None,
            false => Some(DecodingKey::from_secret(
                settings.hmac_secret.expose().as_bytes(),
            )?),
        };
        let mut allowed = algorithms;
        if hmac.is_some() {
            allowed.push(Algorithm::HS256);
        }
        let validations = allowed
            .into_iter()
            .map(|algorithm| {
                let mut validation = Validation::new(algorithm);
                validation.leeway = settings.leeway.as_secs();
                validation.validate_nbf = true;
                validation.set_issuer(&[&settings.issuer]);
                validation.set_audience(&settings.audiences);
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                validation
            })
            .collect();
        Ok(Self { validations, hmac })
    }

    /// Checks `token` against `keys`.
    pub(crate) fn verify(&self, token: &str, keys: &KeySet) -> Result<Verified, Denial> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(Denial::invalid("the token is too long"));
        }
        if token.split('.').count() != 3 {
            return Err(Denial::invalid(
                "the token is not a JWT (three dot-separated parts)",
            ));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            Denial::invalid("the token's header is malformed or names an unknown algorithm")
        })?;
        let Some(validation) = self
            .validations
            .iter()
            .find(|validation| validation.algorithms == [header.alg])
        else {
            return Err(Denial::invalid("the token's algorithm is not accepted"));
        };
        let key = match header.alg.family() {
            AlgorithmFamily::Hmac => match &self.hmac {
                Some(secret) => secret,
                None => return Err(Denial::invalid("the token's algorithm is not accepted")),
            },
            _ => match keys.find(header.kid.as_deref(), header.alg) {
                Lookup::Found(key) => key,
                Lookup::UnknownKid => return Ok(Verified::UnknownKid),
                Lookup::NoKey => return Err(Denial::invalid("no key fits the token's header")),
            },
        };
        let claims = jsonwebtoken::decode::<Claims>(token, key, validation)
            .map_err(|err| denial(err.kind()))?
            .claims;
        let mut scopes = Scopes::default();
        for claim in [&claims.scope, &claims.scp].into_iter().flatten() {
            scopes = scopes.union(claim.scopes());
        }
        let valid_until = (claims.exp.max(0.0) as u64).saturating_add(validation.leeway);
        let principal = Principal {
            subject: Arc::from(claims.sub),
            scopes,
        };
        Ok(Verified::Valid(principal, valid_until))
    }
}

/// The client's side of a failed check: expired, or invalid and why.
fn denial(kind: &ErrorKind) -> Denial {
    match kind {
        ErrorKind::ExpiredSignature => Denial::expired(),
        ErrorKind::ImmatureSignature => Denial::invalid("the token is not valid yet (nbf)"),
        ErrorKind::InvalidSignature => Denial::invalid("the token's signature does not verify"),
        ErrorKind::InvalidIssuer => Denial::invalid("the token's issuer is not accepted"),
        ErrorKind::InvalidAudience => {
            Denial::invalid("the token is not meant for this service (aud)")
        }
        ErrorKind::MissingRequiredClaim(_) => {
            Denial::invalid("the token lacks a required claim (exp, iss, aud, sub)")
        }
        ErrorKind::InvalidAlgorithm => Denial::invalid("the token's algorithm is not accepted"),
        _ => Denial::invalid("the token is malformed"),
    }
}
