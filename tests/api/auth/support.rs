//! Signing keys made at test time (RSA from a test-only key file, EC and
//! Ed25519 generated), tokens, JWKS documents, and servers in jwt mode.
use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use tempfile::TempDir;
use tonic::{Code, Request, Status, metadata::MetadataValue};
use tonic_types::StatusExt;
use user_service::{
    proto::{UserRequest, UserResponse, users_client::UsersClient},
    settings::{AuthMode, Settings},
};

use crate::helpers::{TestApp, TestUsers, bounded, spawn_app_with, test_settings};

pub(crate) const ISSUER: &str = "https://issuer.test";
pub(crate) const AUDIENCE: &str = "user-service";
pub(crate) const SUBJECT: &str = "alice";
/// A test-only RSA key (never used outside these tests) and its public half.
pub(crate) const RSA_KEY: &str = include_str!("test-rsa-key.pem");
pub(crate) const RSA_PUBLIC: &str = include_str!("test-rsa-public.pem");

/// A key tokens are signed with, and its public JWK.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) algorithm: Algorithm,
    key: EncodingKey,
    pub(crate) jwk: Jwk,
}

impl SigningKey {
    fn new(kid: &str, algorithm: Algorithm, key: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&key, algorithm).expect("a public JWK");
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            algorithm,
            key,
            jwk,
        }
    }

    pub(crate) fn rsa(kid: &str) -> Self {
        let key = EncodingKey::from_rsa_pem(RSA_KEY.as_bytes()).expect("RSA key");
        Self::new(kid, Algorithm::RS256, key)
    }

    pub(crate) fn ec(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256");
        let key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).expect("EC key");
        Self::new(kid, Algorithm::ES256, key)
    }

    pub(crate) fn ed(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("Ed25519");
        let key = EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).expect("Ed key");
        // jsonwebtoken derives a JWK only from a PKCS#8 v1 key; ring writes
        // v2, which carries the public key itself.
        let x = URL_SAFE_NO_PAD.encode(pair.public_key_raw());
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA", "kid": kid});
        Self {
            kid: kid.to_owned(),
            algorithm: Algorithm::EdDSA,
            key,
            jwk: serde_json::from_value(jwk).expect("an Ed25519 JWK"),
        }
    }

    /// A token with these claims, its header naming this key.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("signed")
    }
}

/// A JWKS document holding `keys`.
pub(crate) fn jwks(keys: &[&SigningKey]) -> String {
    let keys: Vec<&Jwk> = keys.iter().map(|key| &key.jwk).collect();
    json!({ "keys": keys }).to_string()
}

pub(crate) fn now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(elapsed.as_secs()).expect("fits")
}

/// Valid claims for `scope`, expiring in ten minutes; `jti` makes each
/// token distinct (a fresh one is verified, not found in the cache).
pub(crate) fn claims(scope: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": SUBJECT,
        "iat": now(),
        "exp": now() + 600,
        "scope": scope,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// `claims` with `key` set to `value`.
pub(crate) fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// The keys of a test issuer: one per accepted algorithm.
pub(crate) struct Issuer {
    pub(crate) rsa: SigningKey,
    pub(crate) ec: SigningKey,
    pub(crate) ed: SigningKey,
}

impl Issuer {
    pub(crate) fn new() -> Self {
        Self {
            rsa: SigningKey::rsa("rsa-1"),
            ec: SigningKey::ec("ec-1"),
            ed: SigningKey::ed("ed-1"),
        }
    }

    pub(crate) fn jwks(&self) -> String {
        jwks(&[&self.rsa, &self.ec, &self.ed])
    }
}

/// A server in jwt mode with keys from a JWKS file.
pub(crate) struct AuthApp {
    pub(crate) app: TestApp,
    pub(crate) issuer: Issuer,
    pub(crate) jwks_file: PathBuf,
    _dir: TempDir,
}

/// Settings for jwt mode with keys from `jwks_file`; an unknown `kid`
/// reloads the file at once, so tests need not wait.
pub(crate) fn jwt_settings(jwks_file: &Path) -> Settings {
    let mut settings = test_settings();
    let auth = &mut settings.auth;
    auth.mode = AuthMode::Jwt;
    auth.jwks_file = jwks_file.to_path_buf();
    auth.issuer = ISSUER.to_owned();
    auth.audiences = vec![AUDIENCE.to_owned()];
    auth.jwks_refetch_interval = std::time::Duration::from_millis(1);
    settings
}

/// Spawns a server in jwt mode, `adjust`ing its settings first.
pub(crate) async fn spawn_auth_app_with(adjust: impl FnOnce(&mut Settings)) -> AuthApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let issuer = Issuer::new();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, issuer.jwks()).expect("write JWKS");
    let mut settings = jwt_settings(&jwks_file);
    adjust(&mut settings);
    let app = spawn_app_with(settings, TestUsers::default()).await;
    AuthApp {
        app,
        issuer,
        jwks_file,
        _dir: dir,
    }
}

pub(crate) async fn spawn_auth_app() -> AuthApp {
    spawn_auth_app_with(|_| {}).await
}

/// `message` with `key: value` in its metadata.
pub(crate) fn with_metadata<T>(message: T, key: &'static str, value: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = value.parse().expect("a valid metadata value");
    request.metadata_mut().insert(key, value);
    request
}

/// `message` with `authorization: Bearer <token>`.
pub(crate) fn authorized<T>(message: T, token: &str) -> Request<T> {
    with_metadata(message, "authorization", &format!("Bearer {token}"))
}

fn list_user_request() -> UserRequest {
    UserRequest {
        id: 2,
        name: "twtrubiks".to_owned(),
    }
}

/// A legacy ListUser call (needs `users.read`) with `request`'s metadata.
pub(crate) async fn list_user(
    app: &TestApp,
    request: impl FnOnce(UserRequest) -> Request<UserRequest>,
) -> Result<UserResponse, Status> {
    let mut client = UsersClient::new(app.channel.clone());
    bounded(client.list_user(request(list_user_request())))
        .await
        .map(tonic::Response::into_inner)
}

/// A legacy ListUser call with `authorization: <value>` (raw).
pub(crate) async fn list_user_with_authorization(
    app: &TestApp,
    value: &str,
) -> Result<UserResponse, Status> {
    list_user(app, |message| {
        with_metadata(message, "authorization", value)
    })
    .await
}

/// A legacy ListUser call with `token` as bearer token.
pub(crate) async fn list_user_with(app: &TestApp, token: &str) -> Result<UserResponse, Status> {
    list_user(app, |message| authorized(message, token)).await
}

/// Asserts `result` failed with `code` and the `ErrorInfo` `reason`.
pub(crate) fn assert_denied<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: &str,
) -> Status {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), code, "{status:?}");
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, "user-service");
    status
}
