//! `/metrics` on the admin port counts directory calls under the gRPC
//! dashboard names, and the store's operations and connections.
use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    server::{BOUND, Server},
    support::{create, create_request, get},
};

/// The body of `GET /metrics`.
async fn scrape(addr: SocketAddr) -> String {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("the admin port is open");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
            .await
            .expect("request sent");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("response read");
        response
    };
    let response = tokio::time::timeout(BOUND, exchange)
        .await
        .expect("scraped in time");
    let (head, body) = response.split_once("\r\n\r\n").expect("headers and body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the series `name` whose labels include every one of `labels`.
fn value(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (series, value) = match rest.strip_prefix('{') {
            Some(labelled) => labelled.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        let has_all = labels.iter().all(|(key, wanted)| {
            series
                .split(',')
                .any(|pair| pair == format!("{key}=\"{wanted}\""))
        });
        has_all.then(|| value.trim().parse().ok()).flatten()
    })
}

const CREATE_USER: [(&str, &str); 3] = [
    ("grpc_service", "user.v1.UserService"),
    ("grpc_method", "CreateUser"),
    ("grpc_type", "unary"),
];

#[tokio::test]
async fn metrics_count_directory_calls_by_code() {
    let server = Server::fresh().await;
    let admin = server.admin_addr.expect("the admin endpoint is on");
    let mut client = server.client();
    for n in 0..3 {
        create(&mut client, &format!("u{n}"), &format!("u{n}@x.org")).await;
    }
    client
        .create_user(create_request("u0", "new@x.org"))
        .await
        .expect_err("taken");
    let body = scrape(admin).await;
    let handled = |code| {
        value(
            &body,
            "grpc_server_handled_total",
            &[CREATE_USER.as_slice(), &[("grpc_code", code)]].concat(),
        )
    };
    assert_eq!(handled("OK"), Some(3.0), "{body}");
    assert_eq!(handled("AlreadyExists"), Some(1.0), "{body}");
    assert_eq!(
        value(&body, "grpc_server_started_total", &CREATE_USER),
        Some(4.0),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_show_store_operations_and_connections() {
    let server = Server::fresh().await;
    let admin = server.admin_addr.expect("the admin endpoint is on");
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    create(&mut client, "bob", "bob@x.org").await;
    get(&mut client, "users/ann").await.expect("found");
    let body = scrape(admin).await;
    let operations = |operation| {
        value(
            &body,
            "db_client_operation_duration_seconds_count",
            &[
                ("db_system_name", "sqlite"),
                ("db_collection_name", "users"),
                ("db_operation_name", operation),
            ],
        )
    };
    assert_eq!(operations("INSERT"), Some(2.0), "{body}");
    // Reads: the GetUser, and the page-token secret read at start-up.
    assert!(
        operations("SELECT").is_some_and(|count| count >= 1.0),
        "{body}"
    );
    let connections: Vec<&str> = body
        .lines()
        .filter(|line| line.starts_with("db_client_connection_count"))
        .collect();
    assert!(!connections.is_empty(), "{body}");
    assert!(
        connections
            .iter()
            .any(|line| line.contains(r#"db_system_name="sqlite""#)),
        "{connections:?}"
    );
    let open: f64 = connections
        .iter()
        .filter_map(|line| {
            line.rsplit_once(' ')
                .and_then(|(_, value)| value.parse::<f64>().ok())
        })
        .sum();
    assert!(open >= 1.0, "the store holds connections: {connections:?}");
    assert!(
        value(&body, "db_client_connection_max", &[]).is_some_and(|max| max >= 2.0),
        "{body}"
    );
}
