//! grpc.health.v1: Check and Watch for known and unknown names.
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{BOUND, next_status, spawn_app};

#[tokio::test]
async fn the_server_and_the_users_service_are_serving_after_start() {
    let app = spawn_app().await;
    assert_eq!(app.check("").await.ok(), Some(ServingStatus::Serving));
    assert_eq!(
        app.check("user.Users").await.ok(),
        Some(ServingStatus::Serving)
    );
}

#[tokio::test]
async fn check_on_an_unknown_name_is_not_found() {
    let app = spawn_app().await;
    let status = app.check("user.Accounts").await.expect_err("unknown name");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn watch_on_a_known_name_starts_with_serving() {
    let app = spawn_app().await;
    let mut updates = app.watch("user.Users").await;
    assert_eq!(next_status(&mut updates).await, ServingStatus::Serving);
}

#[tokio::test]
async fn watch_on_an_unknown_name_sends_service_unknown_and_stays_open() {
    let app = spawn_app().await;
    let mut updates = app.watch("user.Accounts").await;
    assert_eq!(
        next_status(&mut updates).await,
        ServingStatus::ServiceUnknown
    );

    // Still open: nothing more arrives, and the stream neither ends nor fails.
    let quiet = std::time::Duration::from_millis(300);
    assert!(
        tokio::time::timeout(quiet, futures::StreamExt::next(&mut updates))
            .await
            .is_err(),
        "the stream must stay open with no further message"
    );
    assert!(BOUND > quiet);
}
