//! HS256 only with an explicit `auth.hmac_secret`, and then only signed with
//! that secret; the JWKS keys keep working beside it.
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::Code;
use user_service::settings::Secret;

use super::support::{RSA_PUBLIC, assert_denied, claims, list_user_with, spawn_auth_app_with};

const SECRET: &str = "an-hmac-secret-for-these-tests-only";

fn hmac_token(algorithm: Algorithm, secret: &[u8]) -> String {
    let key = EncodingKey::from_secret(secret).expect("HMAC key");
    jsonwebtoken::encode(&Header::new(algorithm), &claims("users.read"), &key).expect("signed")
}

#[tokio::test]
async fn a_configured_hmac_secret_admits_hs256_signed_with_it_and_nothing_else() {
    let app = spawn_auth_app_with(|settings| settings.auth.hmac_secret = Secret::new(SECRET)).await;
    list_user_with(&app.app, &hmac_token(Algorithm::HS256, SECRET.as_bytes()))
        .await
        .expect("HS256 with the configured secret");
    for refused in [
        hmac_token(Algorithm::HS256, b"another-secret-of-enough-length-here"),
        hmac_token(Algorithm::HS256, RSA_PUBLIC.as_bytes()),
        hmac_token(Algorithm::HS384, SECRET.as_bytes()),
    ] {
        let result = list_user_with(&app.app, &refused).await;
        assert_denied(result, Code::Unauthenticated, "TOKEN_INVALID");
    }
    let token = app.issuer.ed.sign(&claims("users.read"));
    list_user_with(&app.app, &token)
        .await
        .expect("JWKS keys still verify");
}
