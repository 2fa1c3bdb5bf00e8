//! The table of bad inputs (docs/operating.md, "Bad input"). Each row is a case that
//! asserts the status or behaviour its input gets. Each case runs alone
//! against a fresh server, and the whole table runs against one plaintext and
//! one mutual-TLS server, which must still answer ListUser and health
//! correctly afterwards.
use bytes::Bytes;
use http::StatusCode;
use prost::Message;
use tonic::{Code, metadata::MetadataValue};
use tonic_health::pb::health_check_response::ServingStatus;
use user_service::proto::{UserRequest, users_client::UsersClient};

use crate::{
    connections, deadlines, error_details,
    helpers::{PANIC_ID, TestApp, TestUsers, bounded, endpoint, spawn_app_over},
    message_size, overload,
    pki::{ClientCert, Pki},
    raw::{closed_after_sending, grpc_frame, grpc_request},
    table::{reason, spawn_table_app, table_settings},
    tls,
};

fn list_user_bytes() -> Vec<u8> {
    UserRequest {
        id: 2,
        name: "twtrubiks".to_owned(),
    }
    .encode_to_vec()
}

pub(crate) async fn malformed_protobuf_is_internal(app: &TestApp) {
    let message = list_user_bytes();
    let mut compressed = grpc_frame(&message).to_vec();
    compressed[0] = 1;
    let cases = [
        ("not protobuf", grpc_frame(&[0xff; 8])),
        ("a truncated frame", grpc_frame(&message).slice(..7)),
        ("compressed without grpc-encoding", Bytes::from(compressed)),
        ("no message at all", Bytes::new()),
    ];
    for (case, body) in cases {
        let request = grpc_request("/user.Users/ListUser")
            .body(())
            .expect("request");
        let response = app.h2_call(request, body).await;
        let status = response.grpc_status().expect("a gRPC status");
        assert_eq!(status.code(), Code::Internal, "{case}: {status:?}");
    }
}

pub(crate) async fn unknown_services_and_methods_are_unimplemented(app: &TestApp) {
    for path in ["/user.Users/DeleteUser", "/user.Accounts/ListUser", "/"] {
        let request = grpc_request(path).body(()).expect("request");
        let response = app.h2_call(request, grpc_frame(&list_user_bytes())).await;
        let status = response.grpc_status().expect("a gRPC status");
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }
}

pub(crate) async fn requests_that_are_not_grpc_get_415_or_405(app: &TestApp) {
    let body = grpc_frame(&list_user_bytes());
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let mut request = http::Request::post("http://127.0.0.1/user.Users/ListUser");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = app
            .h2_call(request.body(()).expect("request"), body.clone())
            .await;
        assert_eq!(response.http_status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let status = response.grpc_status().expect("a gRPC status");
        assert_eq!(status.code(), Code::InvalidArgument, "{content_type:?}");
        assert_eq!(reason(&status), "INVALID_CONTENT_TYPE");
    }
    let request = http::Request::get("http://127.0.0.1/user.Users/ListUser")
        .header("content-type", "application/grpc")
        .body(())
        .expect("request");
    let response = app.h2_call(request, Bytes::new()).await;
    assert_eq!(response.http_status, StatusCode::METHOD_NOT_ALLOWED);
    let status = response.grpc_status().expect("a gRPC status");
    assert_eq!(status.code(), Code::Internal);
}

pub(crate) async fn http1_and_random_bytes_only_close_their_connection(app: &TestApp) {
    let http1 = b"GET /user.Users/ListUser HTTP/1.1\r\nHost: localhost\r\n\r\n";
    closed_after_sending(app.connect_raw().await, http1).await;
    // Deterministic noise: a fixed linear congruential sequence.
    let noise: Vec<u8> = (0_u32..4096)
        .map(|i| (i.wrapping_mul(1_103_515_245).wrapping_add(12_345) >> 16) as u8)
        .collect();
    closed_after_sending(app.connect_raw().await, &noise).await;
}

pub(crate) async fn oversized_metadata_is_refused_by_http2(app: &TestApp) {
    let call = |value_len: usize| {
        let mut request = tonic::Request::new(UserRequest {
            id: 2,
            name: "x".to_owned(),
        });
        let value = MetadataValue::try_from("v".repeat(value_len)).expect("ASCII");
        request.metadata_mut().insert("x-padding", value);
        request
    };
    // Over the 16KiB header list limit: HTTP 431, which gRPC clients report
    // as UNKNOWN (no grpc-status in a 431).
    let status = bounded(app.users().list_user(call(32 << 10)))
        .await
        .expect_err("oversized metadata is refused");
    assert_eq!(status.code(), Code::Unknown, "{status:?}");
    assert!(status.message().contains("431"), "{status:?}");
    // Far over it the connection itself is refused (GOAWAY
    // ENHANCE_YOUR_CALM); on a connection of its own, so others are unhurt.
    let tls = app.tls.as_ref().map(|tls| &tls.tonic);
    let channel = bounded(endpoint(app.addr, tls).connect())
        .await
        .expect("connects");
    let result = bounded(UsersClient::new(channel).list_user(call(1 << 20))).await;
    assert!(result.is_err(), "megabytes of metadata are refused");
}

pub(crate) async fn a_panic_answers_internal_without_its_text(app: &TestApp) {
    let status = app
        .list_user(PANIC_ID, "boom")
        .await
        .expect_err("a panic is an error");
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(status.message(), "internal error");
}

/// What every server must still do after the table.
async fn still_serves(app: &TestApp) {
    let response = app
        .list_user(2, "twtrubiks")
        .await
        .expect("ListUser answers");
    assert_eq!(response.details.len(), 2);
    assert!(response.details.iter().all(|d| d.value == "twtrubiks"));
    let status = app.list_user(0, "x").await.expect_err("id 0 is refused");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "Sorry, id is not allowed 0");
    for service in ["", "user.Users"] {
        assert_eq!(
            app.check(service).await.expect("health answers"),
            ServingStatus::Serving
        );
    }
}

/// Every row of the table, against one server.
async fn run_table(app: &TestApp, users: &TestUsers) {
    malformed_protobuf_is_internal(app).await;
    message_size::oversized_requests_and_answers_are_resource_exhausted(app).await;
    error_details::a_name_over_the_limit_is_a_bad_request_for_that_field(app).await;
    unknown_services_and_methods_are_unimplemented(app).await;
    // Before the overload row, which needs every slot the panic held back.
    a_panic_answers_internal_without_its_text(app).await;
    requests_that_are_not_grpc_get_415_or_405(app).await;
    http1_and_random_bytes_only_close_their_connection(app).await;
    oversized_metadata_is_refused_by_http2(app).await;
    deadlines::an_expired_deadline_fails_fast(app).await;
    deadlines::malformed_grpc_timeouts_are_internal(app).await;
    deadlines::the_clients_deadline_is_answered_deadline_exceeded(app, users).await;
    overload::calls_beyond_the_limit_are_shed_and_served_again_when_load_drops(app, users).await;
    connections::silent_connections_are_closed(app).await;
}

#[tokio::test]
async fn the_whole_table_against_one_plaintext_server_leaves_it_serving() {
    let users = TestUsers::default();
    let app = spawn_table_app(&users).await;
    run_table(&app, &users).await;
    still_serves(&app).await;
}

#[tokio::test]
async fn the_whole_table_against_one_mutual_tls_server_leaves_it_serving() {
    let pki = Pki::generate();
    let mut settings = table_settings();
    pki.configure(&mut settings, true);
    let users = TestUsers::default();
    let client = pki.client(ClientCert::Trusted);
    let app = spawn_app_over(settings, users.clone(), Some(client)).await;
    run_table(&app, &users).await;
    tls::clients_without_a_trusted_certificate_are_refused(&app, &pki).await;
    still_serves(&app).await;
}

/// Runs one row against a fresh server, which must still serve afterwards.
async fn alone(row: impl AsyncFnOnce(&TestApp)) {
    let app = spawn_table_app(&TestUsers::default()).await;
    row(&app).await;
    still_serves(&app).await;
}

#[tokio::test]
async fn malformed_protobuf_gets_internal() {
    alone(malformed_protobuf_is_internal).await;
}

#[tokio::test]
async fn unknown_services_and_methods_get_unimplemented() {
    alone(unknown_services_and_methods_are_unimplemented).await;
}

#[tokio::test]
async fn a_wrong_content_type_gets_415_and_a_wrong_method_405() {
    alone(requests_that_are_not_grpc_get_415_or_405).await;
}

#[tokio::test]
async fn http1_and_random_bytes_close_only_their_own_connection() {
    alone(http1_and_random_bytes_only_close_their_connection).await;
}

#[tokio::test]
async fn oversized_metadata_is_refused_and_the_server_unhurt() {
    alone(oversized_metadata_is_refused_by_http2).await;
}

#[tokio::test]
async fn a_panicking_handler_gets_internal_through_the_table() {
    alone(a_panic_answers_internal_without_its_text).await;
}
