//! What telemetry shows of a caller: its subject as `enduser.id` on log
//! lines, outcomes counted by reason on `/metrics`, and never the token.
use serde_json::json;
use tonic::Code;
use user_service::proto::{UserRequest, users_client::UsersClient};

use super::support::{
    Issuer, SUBJECT, SigningKey, assert_denied, authorized, claims, list_user, list_user_with, now,
    spawn_auth_app, with,
};
use crate::{
    helpers::{bounded, endpoint},
    metrics::{scrape, value_of},
    process::{self, WAIT_BOUND},
};

/// Tokens of every kind the server sees in these tests.
fn tokens(issuer: &Issuer) -> Vec<String> {
    vec![
        issuer.rsa.sign(&claims("users.read")),
        issuer
            .ec
            .sign(&with(claims("users.read"), "exp", json!(now() - 3600))),
        SigningKey::ed("ed-1").sign(&claims("users.read")),
        issuer.ed.sign(&claims("openid")),
    ]
}

/// The parts of a token that must never be shown: its claims and signature.
fn secrets(token: &str) -> Vec<&str> {
    token.split('.').skip(1).collect()
}

#[tokio::test]
async fn log_lines_name_the_subject_and_never_the_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let issuer = Issuer::new();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, issuer.jwks()).expect("write JWKS");
    let jwks_path = jwks_file.to_str().expect("utf-8 path");
    let mut running = process::start(&[
        ("RUST_LOG", "debug"),
        ("USER_SERVICE__AUTH__MODE", "jwt"),
        ("USER_SERVICE__AUTH__JWKS_FILE", jwks_path),
        ("USER_SERVICE__AUTH__ISSUER", super::support::ISSUER),
        ("USER_SERVICE__AUTH__AUDIENCES", super::support::AUDIENCE),
    ])
    .await;
    let channel = bounded(endpoint(running.addr, None).connect())
        .await
        .expect("connects");
    let tokens = tokens(&issuer);
    for token in &tokens {
        let request = UserRequest {
            id: 2,
            name: "secret-test".to_owned(),
        };
        let _ =
            bounded(UsersClient::new(channel.clone()).list_user(authorized(request, token))).await;
    }
    process::send_signal(&running.child, "TERM");
    assert_eq!(
        process::exit_code(&mut running.child, WAIT_BOUND).await,
        Some(0)
    );
    let mut lines = Vec::new();
    while let Ok(line) = running.logs.try_recv() {
        lines.push(line);
    }
    let allowed = lines
        .iter()
        .find(|line| line["message"] == "auth.allowed")
        .expect("an auth.allowed line");
    assert_eq!(allowed["enduser.id"], SUBJECT, "{allowed}");
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    for token in &tokens {
        for secret in secrets(token) {
            assert!(
                !text.iter().any(|line| line.contains(secret)),
                "a log line shows a token"
            );
        }
    }
}

#[tokio::test]
async fn metrics_count_outcomes_by_reason_and_never_show_the_token() {
    let app = spawn_auth_app().await;
    let tokens = tokens(&app.issuer);
    list_user_with(&app.app, &tokens[0]).await.expect("allowed");
    list_user_with(&app.app, &tokens[0])
        .await
        .expect("allowed again, cached");
    let expired = list_user_with(&app.app, &tokens[1]).await;
    assert_denied(expired, Code::Unauthenticated, "TOKEN_EXPIRED");
    let missing = list_user(&app.app, tonic::Request::new).await;
    assert_denied(missing, Code::Unauthenticated, "TOKEN_MISSING");
    let (_, body) = scrape(app.app.admin_addr.expect("admin enabled")).await;
    let count = |reason: &str| {
        value_of(
            &body,
            &format!("auth_outcomes_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(count("ALLOWED"), Some(2.0));
    assert_eq!(count("TOKEN_EXPIRED"), Some(1.0));
    assert_eq!(count("TOKEN_MISSING"), Some(1.0));
    assert_eq!(count("INSUFFICIENT_SCOPE"), Some(0.0));
    for token in &tokens {
        for secret in secrets(token) {
            assert!(!body.contains(secret), "/metrics shows a token");
        }
    }
}
