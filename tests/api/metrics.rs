//! Prometheus text at the admin port counts every call by code.
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{bounded, call_raw, spawn_app};

/// `GET /metrics` over plain HTTP/1.1; returns the status line and body.
pub(crate) async fn scrape(addr: std::net::SocketAddr) -> (String, String) {
    let mut stream = bounded(TcpStream::connect(addr))
        .await
        .expect("admin port open");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await
        .expect("request sent");
    let mut response = String::new();
    bounded(stream.read_to_string(&mut response))
        .await
        .expect("response read");
    let (head, body) = response.split_once("\r\n\r\n").expect("headers and body");
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

pub(crate) fn value_of(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
}

const LIST_USER: &str = r#"grpc_method="ListUser",grpc_service="user.Users",grpc_type="unary""#;

#[tokio::test]
async fn metrics_count_calls_by_code_under_the_grpc_dashboard_names() {
    let app = spawn_app().await;
    for id in 1..=3 {
        app.list_user(id, "ok").await.expect("answered");
    }
    for _ in 0..2 {
        app.list_user(0, "refused").await.expect_err("not found");
    }
    let (status, body) = scrape(app.admin_addr.expect("admin enabled")).await;
    assert!(status.contains("200"), "{status}");

    let handled = |code: &str| {
        value_of(
            &body,
            &format!("grpc_server_handled_total{{grpc_code=\"{code}\",{LIST_USER}}}"),
        )
    };
    assert_eq!(handled("OK"), Some(3.0), "{body}");
    assert_eq!(handled("NotFound"), Some(2.0), "{body}");
    assert_eq!(
        value_of(&body, &format!("grpc_server_started_total{{{LIST_USER}}}")),
        Some(5.0)
    );
    assert_eq!(
        value_of(
            &body,
            &format!("grpc_server_handling_seconds_count{{{LIST_USER}}}")
        ),
        Some(5.0)
    );
    assert!(body.contains(r#"grpc_server_handling_seconds_bucket{grpc_method="ListUser",grpc_service="user.Users",grpc_type="unary",le="0.005"}"#));
    // Methods never called are there too, at zero, user.v1 included.
    for method in [
        "CreateUser",
        "GetUser",
        "ListUsers",
        "UpdateUser",
        "DeleteUser",
        "UndeleteUser",
    ] {
        let v1 = format!(
            r#"grpc_method="{method}",grpc_service="user.v1.UserService",grpc_type="unary""#
        );
        let started = format!("grpc_server_started_total{{{v1}}} 0");
        assert!(
            body.lines().any(|line| line == started),
            "{started} in {body}"
        );
        assert_eq!(
            value_of(
                &body,
                &format!("grpc_server_handled_total{{grpc_code=\"NotFound\",{v1}}}")
            ),
            Some(0.0),
            "{body}"
        );
    }
    assert!(value_of(&body, "process_resident_memory_bytes").is_some_and(|bytes| bytes > 0.0));
    assert!(value_of(&body, "process_open_fds").is_some_and(|fds| fds > 0.0));
}

#[tokio::test]
async fn unknown_methods_share_one_label_set() {
    let app = spawn_app().await;
    call_raw(&app, "/user.Users/DeleteUser").await;
    call_raw(&app, "/random.Service/Method42").await;
    let (_, body) = scrape(app.admin_addr.expect("admin enabled")).await;
    // user.v1.UserService has a DeleteUser; user.Users has none.
    assert!(
        !body.contains(r#"grpc_method="DeleteUser",grpc_service="user.Users""#)
            && !body.contains("random.Service"),
        "{body}"
    );
    let unknown = r#"grpc_code="Unimplemented",grpc_method="unknown",grpc_service="unknown",grpc_type="unary""#;
    assert_eq!(
        value_of(&body, &format!("grpc_server_handled_total{{{unknown}}}")),
        Some(2.0),
        "{body}"
    );
    for line in body
        .lines()
        .filter(|line| line.starts_with("grpc_server_started_total{"))
    {
        assert!(
            [
                "user.Users",
                "user.v1.UserService",
                "grpc.health",
                "grpc.reflection",
                "unknown",
            ]
            .iter()
            .any(|known| line.contains(known)),
            "{line}"
        );
    }
}

/// A client that resets its call before sending the message cancelled it:
/// the call is counted as Canceled, not as the INTERNAL ("Missing request
/// message") tonic answers to a request stream that ended early.
#[tokio::test]
async fn a_call_the_client_resets_is_counted_as_canceled() {
    let app = spawn_app().await;
    let admin = app.admin_addr.expect("admin enabled");
    let client = app.h2_client().await;
    let mut client = bounded(client.ready()).await.expect("ready");
    let request = crate::raw::grpc_request("/user.Users/ListUser")
        .body(())
        .expect("a request");
    // Headers only: the handler waits for a message that never comes.
    let (_response, mut stream) = client.send_request(request, false).expect("sent");
    let handled =
        |code: &str| format!("grpc_server_handled_total{{grpc_code=\"{code}\",{LIST_USER}}}");
    // Every series exists from the start (at 0): wait for the expected value.
    let reaches = |series: String, expected: f64| async move {
        for _ in 0..100 {
            let (_, body) = scrape(admin).await;
            if value_of(&body, &series) == Some(expected) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    };
    let started = format!("grpc_server_started_total{{{LIST_USER}}}");
    assert!(reaches(started, 1.0).await, "the call started");
    stream.send_reset(h2::Reason::CANCEL);
    assert!(
        reaches(handled("Canceled"), 1.0).await,
        "counted as Canceled"
    );
    let (_, body) = scrape(admin).await;
    assert_eq!(value_of(&body, &handled("Internal")), Some(0.0), "{body}");
}
