//! Signing keys from a JWKS document. Only public keys of the asymmetric
//! families are taken: a symmetric (`oct`) key in a JWKS is never used, so
//! HMAC is accepted only through the explicit `auth.hmac_secret`.
use std::str::FromStr;

use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey,
    jwk::{AlgorithmParameters, Jwk, PublicKeyUse},
};

/// The usable keys of one JWKS document.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<Key>,
}

struct Key {
    kid: Option<String>,
    /// The key's own `alg`, when the JWKS names one.
    algorithm: Option<Algorithm>,
    key: DecodingKey,
}

/// Which key a token's header selects.
pub(crate) enum Lookup<'a> {
    /// The key to check the signature with.
    Found(&'a DecodingKey),
    /// The header names a `kid` this set does not hold (keys may have
    /// rotated: worth reloading).
    UnknownKid,
    /// No key fits (no `kid` and no single candidate, or the wrong family).
    NoKey,
}

impl KeySet {
    /// Reads a JWKS document. Keys that cannot be used (encryption keys,
    /// symmetric keys, unsupported types) are skipped; a document with no
    /// usable key at all is an error.
    pub(crate) fn parse(document: &[u8]) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(document)
            .map_err(|err| format!("not a JWKS document: {err}"))?;
        let keys: Vec<Key> = document
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(usable)
            .collect();
        match keys.is_empty() {
            true => Err("the JWKS holds no usable signing key".to_owned()),
            false => Ok(Self { keys }),
        }
    }

    /// How many keys the set holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key for a token signed with `algorithm` under `kid`.
    pub(crate) fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Lookup<'_> {
        let fits = |key: &&Key| {
            key.key.family() == algorithm.family()
                && key.algorithm.is_none_or(|own| own == algorithm)
        };
        match kid {
            Some(kid) => match self.keys.iter().find(|key| key.kid.as_deref() == Some(kid)) {
                Some(key) if fits(&key) => Lookup::Found(&key.key),
                Some(_) => Lookup::NoKey,
                None => Lookup::UnknownKid,
            },
            // Without a `kid`, only a set with a single fitting key decides.
            None => {
                let mut candidates = self.keys.iter().filter(fits);
                match (candidates.next(), candidates.next()) {
                    (Some(key), None) => Lookup::Found(&key.key),
                    _ => Lookup::NoKey,
                }
            }
        }
    }
}

fn usable(jwk: Jwk) -> Option<Key> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    if !matches!(
        jwk.algorithm,
        AlgorithmParameters::RSA(_)
            | AlgorithmParameters::EllipticCurve(_)
            | AlgorithmParameters::OctetKeyPair(_)
    ) {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    if key.family() == AlgorithmFamily::Hmac {
        return None;
    }
    let algorithm = match &jwk.common.key_algorithm {
        // A key for an algorithm JWTs do not use (RSA-OAEP, …) is skipped.
        Some(named) => Some(Algorithm::from_str(&named.to_string()).ok()?),
        None => None,
    };
    Some(Key {
        kid: jwk.common.key_id,
        algorithm,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed"}"#;

    #[test]
    fn symmetric_and_encryption_keys_are_skipped() {
        let oct = r#"{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}"#;
        let enc = ED25519.replace(r#""kid":"ed""#, r#""kid":"enc","use":"enc""#);
        let document = format!(r#"{{"keys":[{oct},{enc},{ED25519}]}}"#);
        let set = KeySet::parse(document.as_bytes()).expect("one usable key");
        assert_eq!(set.len(), 1);
        assert!(matches!(
            set.find(Some("hmac"), Algorithm::HS256),
            Lookup::UnknownKid
        ));
        assert!(matches!(
            set.find(Some("ed"), Algorithm::EdDSA),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.find(Some("ed"), Algorithm::RS256),
            Lookup::NoKey
        ));
        assert!(matches!(set.find(None, Algorithm::EdDSA), Lookup::Found(_)));
    }

    #[test]
    fn garbage_and_sets_without_usable_keys_are_errors() {
        assert!(KeySet::parse(b"garbage").is_err());
        assert!(KeySet::parse(br#"{"keys":[]}"#).is_err());
        assert!(KeySet::parse(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
    }
}
