//! The graceful shutdown sequence, observed through real clients.
use std::time::Duration;

use tokio::net::TcpStream;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{
    BOUND, GATED_ID, TestUsers, bounded, next_status, spawn_app, spawn_app_with, test_settings,
};

/// Resolves once the server refuses new connections, i.e. it stopped accepting.
async fn refusing_connections(addr: std::net::SocketAddr) {
    bounded(async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn shutdown_flips_health_serves_through_the_grace_period_and_drains_in_flight_calls() {
    let users = TestUsers::default();
    let mut settings = test_settings();
    // Long enough that the calls below surely land inside it on a slow machine.
    settings.shutdown.grace_period = Duration::from_secs(2);
    settings.shutdown.drain_timeout = Duration::from_secs(10);
    let mut app = spawn_app_with(settings.clone(), users.clone()).await;

    let in_flight = {
        let users_client = app.users();
        tokio::spawn(async move {
            let mut client = users_client;
            client
                .list_user(user_service::proto::UserRequest {
                    id: GATED_ID,
                    name: "in flight".to_owned(),
                })
                .await
        })
    };
    users.gated_call_started().await;

    let mut server_updates = app.watch("").await;
    let mut users_updates = app.watch("user.Users").await;
    assert_eq!(
        next_status(&mut server_updates).await,
        ServingStatus::Serving
    );
    assert_eq!(
        next_status(&mut users_updates).await,
        ServingStatus::Serving
    );

    app.trigger_shutdown();
    assert_eq!(
        next_status(&mut server_updates).await,
        ServingStatus::NotServing
    );
    assert_eq!(
        next_status(&mut users_updates).await,
        ServingStatus::NotServing
    );

    // Inside the grace period: new calls are still answered, health is NOT_SERVING.
    let during_grace = app.list_user(5, "during grace").await;
    assert_eq!(during_grace.expect("served during grace").details.len(), 2);
    assert_eq!(app.check("").await.ok(), Some(ServingStatus::NotServing));

    // After the grace period the listener closes; the in-flight call still finishes.
    refusing_connections(app.addr).await;
    users.release();
    let answer = bounded(in_flight)
        .await
        .expect("task ran")
        .expect("in-flight call completes");
    assert_eq!(answer.into_inner().details.len(), 2);

    // Watch streams end when draining starts, so they do not hold shutdown up.
    assert!(
        bounded(futures::StreamExt::next(&mut server_updates))
            .await
            .is_none()
    );

    let bound = settings.shutdown.grace_period + settings.shutdown.drain_timeout;
    app.stopped(bound).await.expect("clean shutdown");
}

#[tokio::test]
async fn a_call_that_outlives_the_drain_timeout_does_not_stop_the_shutdown() {
    let users = TestUsers::default();
    let mut settings = test_settings();
    settings.shutdown.grace_period = Duration::ZERO;
    settings.shutdown.drain_timeout = Duration::from_millis(300);
    let mut app = spawn_app_with(settings, users.clone()).await;

    let mut client = app.users();
    let stuck = tokio::spawn(async move {
        client
            .list_user(user_service::proto::UserRequest {
                id: GATED_ID,
                name: "never released".to_owned(),
            })
            .await
    });
    users.gated_call_started().await;

    app.trigger_shutdown();
    app.stopped(BOUND)
        .await
        .expect("shutdown completes despite the stuck call");
    stuck.abort();
}

#[tokio::test]
async fn health_never_flips_back_to_serving_after_shutdown_starts() {
    let mut app = spawn_app().await;
    let mut updates = app.watch("").await;
    assert_eq!(next_status(&mut updates).await, ServingStatus::Serving);
    app.trigger_shutdown();
    assert_eq!(next_status(&mut updates).await, ServingStatus::NotServing);
    // The stream ends at drain without ever reporting SERVING again; a
    // stream still open after the bound means shutdown hangs on it.
    loop {
        let next = tokio::time::timeout(BOUND, futures::StreamExt::next(&mut updates))
            .await
            .unwrap_or_else(|_| {
                panic!("the watch stream did not end within {BOUND:?} of shutdown: a hang")
            });
        match next {
            Some(Ok(update)) => assert_ne!(update.status(), ServingStatus::Serving),
            Some(Err(status)) => panic!("the watch stream failed instead of ending: {status:?}"),
            None => break,
        }
    }
    app.stopped(BOUND).await.expect("clean shutdown");
}
