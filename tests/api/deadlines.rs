//! Deadlines: the client's `grpc-timeout` and the server's default request
//! timeout end a call with DEADLINE_EXCEEDED (not tonic's CANCELLED).
//! Deadlines are sent by hand: a tonic client enforces its own deadline
//! locally and would report CANCELLED before the server's answer arrives.
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tonic::Code;
use user_service::proto::UserRequest;

use crate::{
    helpers::{GATED_ID, TestApp, TestUsers, bounded, spawn_app_with},
    raw::{grpc_frame, grpc_request},
    table::{reason, spawn_table_app, table_settings},
};

fn list_user(id: i32) -> Bytes {
    grpc_frame(
        &UserRequest {
            id,
            name: "deadline".to_owned(),
        }
        .encode_to_vec(),
    )
}

async fn call_with_timeout(app: &TestApp, id: i32, grpc_timeout: &str) -> tonic::Status {
    let request = grpc_request("/user.Users/ListUser")
        .header("grpc-timeout", grpc_timeout)
        .body(())
        .expect("request");
    app.h2_call(request, list_user(id))
        .await
        .grpc_status()
        .expect("a gRPC status")
}

pub(crate) async fn an_expired_deadline_fails_fast(app: &TestApp) {
    // A gated call that reached its handler would wait forever: these must
    // be answered without it.
    for expired in ["1n", "0m", "999u"] {
        let status = call_with_timeout(app, GATED_ID, expired).await;
        assert_eq!(status.code(), Code::DeadlineExceeded, "{expired}");
        assert_eq!(reason(&status), "DEADLINE_EXCEEDED");
    }
}

pub(crate) async fn malformed_grpc_timeouts_are_internal(app: &TestApp) {
    for malformed in ["soon", "123456789S", "10", "1x", "-1S", ""] {
        let status = call_with_timeout(app, 2, malformed).await;
        assert_eq!(status.code(), Code::Internal, "{malformed:?}");
        assert_eq!(status.message(), "malformed grpc-timeout header");
    }
    // The largest timeout the spec allows is fine.
    let status = call_with_timeout(app, 2, "99999999H").await;
    assert_eq!(status.code(), Code::Ok);
}

pub(crate) async fn the_clients_deadline_is_answered_deadline_exceeded(
    app: &TestApp,
    users: &TestUsers,
) {
    let status = call_with_timeout(app, GATED_ID, "200m").await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(status.message(), "deadline exceeded after 200ms");
    // The call did reach its handler, which the deadline then dropped.
    users.gated_call_started().await;
}

#[tokio::test]
async fn a_grpc_timeout_of_one_nanosecond_fails_fast() {
    let app = spawn_table_app(&TestUsers::default()).await;
    an_expired_deadline_fails_fast(&app).await;
}

#[tokio::test]
async fn an_invalid_grpc_timeout_is_internal() {
    let app = spawn_table_app(&TestUsers::default()).await;
    malformed_grpc_timeouts_are_internal(&app).await;
}

#[tokio::test]
async fn an_expired_client_deadline_is_deadline_exceeded_and_frees_its_slot() {
    let mut settings = table_settings();
    settings.limits.max_concurrent_calls = 1;
    let users = TestUsers::default();
    let app = spawn_app_with(settings, users.clone()).await;
    the_clients_deadline_is_answered_deadline_exceeded(&app, &users).await;
    // The only slot was the expired call's: it is free again.
    app.list_user(2, "next").await.expect("served");
}

#[tokio::test]
async fn the_server_default_timeout_ends_calls_without_a_deadline() {
    let mut settings = table_settings();
    settings.limits.request_timeout = Duration::from_millis(300);
    let users = TestUsers::default();
    let app = spawn_app_with(settings, users).await;
    let status = bounded(app.list_user(GATED_ID, "no deadline"))
        .await
        .expect_err("the server's timeout ends it");
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert_eq!(status.message(), "deadline exceeded after 300ms");
    // A client's shorter deadline still wins over the server's.
    let status = call_with_timeout(&app, GATED_ID, "100m").await;
    assert_eq!(status.message(), "deadline exceeded after 100ms");
}
