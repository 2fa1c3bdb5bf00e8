//! An authenticated call's span names its caller (`enduser.id`) and shows
//! nothing of the token that proved it.
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use user_service::{proto::UserRequest, settings::AuthMode};

use crate::{
    Caller,
    helpers::{TestUsers, spawn_app_with, test_settings},
    in_process::{harness, spans_of},
    receiver::string_attribute,
};

const SECRET: &str = "a-test-only-hmac-secret-of-32-bytes!";

fn token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let claims = json!({
        "iss": "https://issuer.test", "aud": "user-service", "sub": "alice",
        "exp": now + 600, "scope": "users.read",
    });
    let key = EncodingKey::from_secret(SECRET.as_bytes()).expect("HMAC key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("signed")
}

#[tokio::test]
async fn an_authenticated_call_span_carries_the_subject_and_not_the_token() {
    harness();
    let mut settings = test_settings();
    settings.auth.mode = AuthMode::Jwt;
    settings.auth.hmac_secret = user_service::settings::Secret::new(SECRET);
    settings.auth.issuer = "https://issuer.test".to_owned();
    settings.auth.audiences = vec!["user-service".to_owned()];
    let app = spawn_app_with(settings, TestUsers::default()).await;
    let caller = Caller::new();
    let token = token();
    let mut request = caller.request(UserRequest {
        id: 2,
        name: "traced".to_owned(),
    });
    let bearer = format!("Bearer {token}").parse().expect("metadata value");
    request.metadata_mut().insert("authorization", bearer);
    app.users().list_user(request).await.expect("allowed");
    let spans = spans_of(&caller).await;
    let server = spans
        .iter()
        .find(|received| received.span.name == "user.Users/ListUser")
        .expect("the server span");
    assert_eq!(
        string_attribute(&server.span.attributes, "enduser.id").as_deref(),
        Some("alice")
    );
    let shown = format!("{spans:?}");
    for secret in token.split('.').skip(1) {
        assert!(!shown.contains(secret), "a span shows the token");
    }
    // The outcome counter is exported over OTLP too.
    harness().guard.force_flush();
    let received = &harness().received;
    let exported = received
        .wait_until(std::time::Duration::from_secs(15), || {
            received
                .metric_names()
                .iter()
                .any(|name| name == "user_service.auth.outcomes")
        })
        .await;
    assert!(exported, "no user_service.auth.outcomes over OTLP");
}
