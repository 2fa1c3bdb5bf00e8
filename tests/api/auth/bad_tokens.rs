//! The bad-input table: every way a token can be missing or wrong, each
//! refused with its code and reason; after the whole table the server
//! still answers health and authorised calls.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tonic::Code;

use super::support::{
    AuthApp, RSA_PUBLIC, SigningKey, assert_denied, claims, list_user, list_user_with,
    list_user_with_authorization, now, spawn_auth_app, with, with_metadata,
};
use tonic_health::pb::health_check_response::ServingStatus;

const INVALID: &str = "TOKEN_INVALID";

fn b64(json: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

async fn no_header(app: &AuthApp) {
    let result = list_user(&app.app, tonic::Request::new).await;
    assert_denied(result, Code::Unauthenticated, "TOKEN_MISSING");
}

async fn bearer_with_nothing(app: &AuthApp) {
    for value in ["Bearer", "Bearer ", "bearer    "] {
        let result = list_user_with_authorization(&app.app, value).await;
        assert_denied(result, Code::Unauthenticated, INVALID);
    }
}

async fn not_three_parts(app: &AuthApp) {
    let token = app.issuer.rsa.sign(&claims("users.read"));
    let two_parts = token.rsplit_once('.').expect("three parts").0;
    for bad in [
        two_parts.to_owned(),
        format!("{token}.extra"),
        "token".to_owned(),
    ] {
        assert_denied(
            list_user_with(&app.app, &bad).await,
            Code::Unauthenticated,
            INVALID,
        );
    }
}

async fn bad_base64(app: &AuthApp) {
    let token = app.issuer.rsa.sign(&claims("users.read"));
    let (_, rest) = token.split_once('.').expect("three parts");
    for bad in [format!("!!!!.{rest}"), "e30.%%%.@@@".to_owned()] {
        assert_denied(
            list_user_with(&app.app, &bad).await,
            Code::Unauthenticated,
            INVALID,
        );
    }
}

async fn alg_none(app: &AuthApp) {
    let header = json!({"alg": "none", "typ": "JWT"});
    for signature in ["", "c2ln"] {
        let token = format!(
            "{}.{}.{signature}",
            b64(&header),
            b64(&claims("users.read"))
        );
        assert_denied(
            list_user_with(&app.app, &token).await,
            Code::Unauthenticated,
            INVALID,
        );
    }
}

async fn hs256_with_the_public_key_as_secret(app: &AuthApp) {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-1".to_owned());
    let key = EncodingKey::from_secret(RSA_PUBLIC.as_bytes()).expect("HMAC key");
    let token = jsonwebtoken::encode(&header, &claims("users.read"), &key).expect("signed");
    assert_denied(
        list_user_with(&app.app, &token).await,
        Code::Unauthenticated,
        INVALID,
    );
}

async fn signed_by_an_unknown_key(app: &AuthApp) {
    // A valid signature, by a key that claims a known kid but is not it.
    let impostor = SigningKey::ec("ec-1");
    let token = impostor.sign(&claims("users.read"));
    assert_denied(
        list_user_with(&app.app, &token).await,
        Code::Unauthenticated,
        INVALID,
    );
}

async fn unknown_kid(app: &AuthApp) {
    let stranger = SigningKey::ed("nobody-knows-me");
    let token = stranger.sign(&claims("users.read"));
    assert_denied(
        list_user_with(&app.app, &token).await,
        Code::Unauthenticated,
        INVALID,
    );
}

async fn expired(app: &AuthApp) {
    let token = app
        .issuer
        .rsa
        .sign(&with(claims("users.read"), "exp", json!(now() - 3600)));
    let result = list_user_with(&app.app, &token).await;
    assert_denied(result, Code::Unauthenticated, "TOKEN_EXPIRED");
}

async fn not_valid_yet(app: &AuthApp) {
    let token = app
        .issuer
        .ec
        .sign(&with(claims("users.read"), "nbf", json!(now() + 3600)));
    assert_denied(
        list_user_with(&app.app, &token).await,
        Code::Unauthenticated,
        INVALID,
    );
}

async fn wrong_issuer(app: &AuthApp) {
    let claims = with(claims("users.read"), "iss", json!("https://evil.test"));
    let token = app.issuer.ed.sign(&claims);
    assert_denied(
        list_user_with(&app.app, &token).await,
        Code::Unauthenticated,
        INVALID,
    );
}

async fn wrong_audience(app: &AuthApp) {
    let claims = with(claims("users.read"), "aud", json!("another-service"));
    let token = app.issuer.rsa.sign(&claims);
    assert_denied(
        list_user_with(&app.app, &token).await,
        Code::Unauthenticated,
        INVALID,
    );
}

async fn scope_missing(app: &AuthApp) {
    let token = app.issuer.rsa.sign(&claims("openid profile"));
    let status = assert_denied(
        list_user_with(&app.app, &token).await,
        Code::PermissionDenied,
        "INSUFFICIENT_SCOPE",
    );
    let info = tonic_types::StatusExt::get_details_error_info(&status).expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("scope").map(String::as_str),
        Some("users.read")
    );
}

async fn junk_of_12_kib(app: &AuthApp) {
    let junk = "x".repeat(12 * 1024);
    assert_denied(
        list_user_with(&app.app, &junk).await,
        Code::Unauthenticated,
        INVALID,
    );
}

async fn token_in_the_wrong_metadata_key(app: &AuthApp) {
    let token = app.issuer.rsa.sign(&claims("users.read"));
    for key in ["x-authorization", "token", "bearer"] {
        let value = format!("Bearer {token}");
        let result = list_user(&app.app, |message| with_metadata(message, key, &value)).await;
        assert_denied(result, Code::Unauthenticated, "TOKEN_MISSING");
    }
}

macro_rules! rows {
    ($($row:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $row() {
                let app = spawn_auth_app().await;
                super::$row(&app).await;
            }
        )*

        async fn every_row(app: &AuthApp) {
            $( super::$row(app).await; )*
        }
    };
}

mod row {
    use super::{AuthApp, spawn_auth_app};

    rows!(
        no_header,
        bearer_with_nothing,
        not_three_parts,
        bad_base64,
        alg_none,
        hs256_with_the_public_key_as_secret,
        signed_by_an_unknown_key,
        unknown_kid,
        expired,
        not_valid_yet,
        wrong_issuer,
        wrong_audience,
        scope_missing,
        junk_of_12_kib,
        token_in_the_wrong_metadata_key,
    );

    #[tokio::test]
    async fn after_the_whole_table_the_server_answers_health_and_authorised_calls() {
        let app = spawn_auth_app().await;
        every_row(&app).await;
        assert_eq!(
            app.app.check("").await.expect("health answers"),
            super::ServingStatus::Serving
        );
        for key in [&app.issuer.rsa, &app.issuer.ec, &app.issuer.ed] {
            let token = key.sign(&super::claims("users.read"));
            let answer = super::list_user_with(&app.app, &token)
                .await
                .expect("allowed");
            assert_eq!(answer.details.len(), 2, "{:?}", key.algorithm);
        }
    }
}
