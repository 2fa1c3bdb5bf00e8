//! grpc.health.v1: Check and Watch for known and unknown names.
use std::time::{Duration, Instant};

use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{
    BOUND, TestUsers, bounded, next_status, spawn_app, spawn_app_with, test_settings,
};

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

/// The protocol keeps the stream open (the name may be registered later):
/// it must outlast a quiet spell and the whole shutdown grace period, during
/// which the known names change status, and end only when the server drains.
#[tokio::test]
async fn watch_on_an_unknown_name_sends_service_unknown_and_stays_open() {
    let mut settings = test_settings();
    settings.shutdown.grace_period = Duration::from_millis(500);
    let grace_period = settings.shutdown.grace_period;
    let mut app = spawn_app_with(settings, TestUsers::default()).await;
    let mut updates = app.watch("user.Accounts").await;
    assert_eq!(
        next_status(&mut updates).await,
        ServingStatus::ServiceUnknown
    );

    // Nothing more arrives: the stream neither ends nor fails.
    let quiet = Duration::from_millis(300);
    if let Ok(next) = tokio::time::timeout(quiet, futures::StreamExt::next(&mut updates)).await {
        panic!("the stream must stay open with no further message, got {next:?}");
    }

    // Still open at the server: through the grace period, while the known
    // names go NOT_SERVING, nothing arrives; at drain it ends cleanly.
    app.trigger_shutdown();
    let shutdown_started = Instant::now();
    let end = bounded(futures::StreamExt::next(&mut updates)).await;
    let ended_after = shutdown_started.elapsed();
    assert!(
        end.is_none(),
        "the stream ends at drain with nothing more, got {end:?}"
    );
    assert!(
        ended_after >= grace_period,
        "the stream ended {ended_after:?} into shutdown, before the {grace_period:?} grace period was over"
    );
    app.stopped(BOUND).await.expect("clean shutdown");
}
