//! Connection bounds: silent clients are closed after the handshake timeout,
//! unanswered keepalive pings close a connection, and an old connection gets
//! a GOAWAY, lets its calls finish within the grace, and is closed after it.
use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio::io::AsyncWriteExt;
use user_service::{proto::UserRequest, settings::Settings};

use crate::{
    frames::{GOAWAY, PING, client_preface, tap},
    helpers::{GATED_ID, TestApp, TestUsers, bounded, spawn_app_with},
    raw::{RawResponse, closed, grpc_frame, grpc_request},
    table::{spawn_table_app, table_settings},
};

pub(crate) async fn silent_connections_are_closed(app: &TestApp) {
    let silent = futures::future::join_all((0..3).map(|_| app.connect_tcp())).await;
    futures::future::join_all(silent.into_iter().map(closed)).await;
    // A client that starts the preface and stalls is no better.
    let mut stalled = app.connect_tcp().await;
    stalled
        .write_all(&client_preface()[..10])
        .await
        .expect("write");
    closed(stalled).await;
}

#[tokio::test]
async fn clients_that_connect_and_send_nothing_are_closed() {
    let app = spawn_table_app(&TestUsers::default()).await;
    silent_connections_are_closed(&app).await;
    app.list_user(2, "after").await.expect("still serving");
}

fn settings_with(change: impl FnOnce(&mut Settings)) -> Settings {
    let mut settings = table_settings();
    change(&mut settings);
    settings
}

#[tokio::test]
async fn a_peer_that_never_answers_keepalive_pings_is_closed() {
    let settings = settings_with(|settings| {
        settings.limits.keepalive_interval = Duration::from_millis(200);
        settings.limits.keepalive_timeout = Duration::from_millis(200);
    });
    let app = spawn_app_with(settings, TestUsers::default()).await;
    let (mut io, mut frames) = tap(app.connect_tcp().await);
    io.write_all(&client_preface()).await.expect("preface");
    // Read (and never answer) until the server closes the connection.
    let reader = tokio::spawn(closed(io));
    assert!(frames.saw(PING).await, "the server pings an idle peer");
    reader.await.expect("closed after the unanswered ping");
}

fn gated_request() -> (http::Request<()>, Bytes) {
    let message = UserRequest {
        id: GATED_ID,
        name: "old connection".to_owned(),
    };
    let request = grpc_request("/user.Users/ListUser")
        .body(())
        .expect("request");
    (request, grpc_frame(&message.encode_to_vec()))
}

/// Opens a tapped HTTP/2 connection and starts a gated call on it.
async fn gated_call_on_tapped_connection(
    app: &TestApp,
    users: &TestUsers,
) -> (
    crate::frames::Frames,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
    impl Future<Output = Result<RawResponse, h2::Error>>,
) {
    let (io, frames) = tap(app.connect_tcp().await);
    let (client, connection) = bounded(h2::client::handshake(io))
        .await
        .expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    let (request, body) = gated_request();
    let call = crate::raw::exchange(client, request, body);
    let call = tokio::spawn(call);
    users.gated_call_started().await;
    let call = async move { call.await.expect("the call task joins") };
    (frames, connection, call)
}

#[tokio::test]
async fn an_old_connection_gets_goaway_and_its_call_still_finishes() {
    let settings = settings_with(|settings| {
        settings.limits.max_connection_age = Duration::from_millis(300);
        settings.limits.max_connection_age_grace = Duration::from_secs(60);
    });
    let users = TestUsers::default();
    let app = spawn_app_with(settings, users.clone()).await;
    let (mut frames, connection, call) = gated_call_on_tapped_connection(&app, &users).await;
    assert!(frames.saw(GOAWAY).await, "GOAWAY at max_connection_age");
    users.release();
    let response = bounded(call).await.expect("the call finishes");
    assert_eq!(
        response.grpc_status().expect("a status").code(),
        tonic::Code::Ok
    );
    let closed = bounded(connection).await.expect("joins");
    assert!(closed.is_ok(), "closed gracefully: {closed:?}");
}

#[tokio::test]
async fn a_call_that_outlasts_the_grace_is_cut_off_with_its_connection() {
    let settings = settings_with(|settings| {
        settings.limits.max_connection_age = Duration::from_millis(300);
        settings.limits.max_connection_age_grace = Duration::from_millis(300);
    });
    let users = TestUsers::default();
    let app = spawn_app_with(settings, users.clone()).await;
    let (mut frames, connection, call) = gated_call_on_tapped_connection(&app, &users).await;
    assert!(frames.saw(GOAWAY).await, "GOAWAY at max_connection_age");
    let cut = bounded(call).await;
    assert!(cut.is_err(), "the call is cut off: {cut:?}");
    let _ = bounded(connection).await;
    app.list_user(2, "after")
        .await
        .expect("the server serves on");
}
