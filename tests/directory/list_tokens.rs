//! Page tokens: tamper-evident, bound to the query, expiring, and valid
//! across restarts and on every replica that shares the secret.
use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use tonic::Code;
use user_service::{proto::v1::ListUsersRequest, settings::Secret};

use crate::{
    server::{BOUND, Server, StoreFile},
    support::{Client, assert_error, create, list},
};

async fn seed(client: &mut Client, count: usize) {
    for n in 0..count {
        create(client, &format!("u{n}"), &format!("u{n}@x.org")).await;
    }
}

fn page(page_size: i32, page_token: &str) -> ListUsersRequest {
    ListUsersRequest {
        page_size,
        page_token: page_token.to_owned(),
        ..ListUsersRequest::default()
    }
}

/// The token after the first page of two.
async fn first_token(client: &mut Client) -> String {
    let token = list(client, page(2, ""))
        .await
        .expect("first page")
        .next_page_token;
    assert!(!token.is_empty());
    token
}

fn names(response: &user_service::proto::v1::ListUsersResponse) -> Vec<String> {
    response
        .users
        .iter()
        .map(|user| user.name.clone())
        .collect()
}

#[tokio::test]
async fn a_tampered_page_token_is_invalid_page_token() {
    let server = Server::fresh().await;
    let mut client = server.client();
    seed(&mut client, 3).await;
    let token = first_token(&mut client).await;
    let mut raw = URL_SAFE_NO_PAD.decode(&token).expect("base64url");
    let last = raw.len() - 1;
    raw[last] ^= 1;
    let changed = URL_SAFE_NO_PAD.encode(&raw);
    let truncated = &token[..token.len() - 4];
    for bad in [
        changed.as_str(),
        truncated,
        "not-a-token",
        "!!!",
        &"A".repeat(5000),
    ] {
        let status = list(&mut client, page(2, bad)).await.expect_err(bad);
        assert_error(&status, Code::InvalidArgument, "INVALID_PAGE_TOKEN");
    }
}

#[tokio::test]
async fn a_page_token_from_a_server_with_another_secret_is_invalid_page_token() {
    let issuing_file = StoreFile::new();
    let mut settings = issuing_file.settings();
    settings.directory.page_token_secret = Secret::new("the-first-secret-0123456789");
    let issuer = Server::start(settings).await;
    seed(&mut issuer.client(), 3).await;
    let token = first_token(&mut issuer.client()).await;
    // The same data, another secret.
    let mut settings = issuing_file.settings();
    settings.directory.page_token_secret = Secret::new("another-secret-0123456789");
    let other = Server::start(settings).await;
    let status = list(&mut other.client(), page(2, &token))
        .await
        .expect_err("foreign");
    assert_error(&status, Code::InvalidArgument, "INVALID_PAGE_TOKEN");
    // And a server over another store (with the secret that store keeps).
    let elsewhere = Server::fresh().await;
    let status = list(&mut elsewhere.client(), page(2, &token))
        .await
        .expect_err("foreign");
    assert_error(&status, Code::InvalidArgument, "INVALID_PAGE_TOKEN");
}

#[tokio::test]
async fn a_page_token_used_with_another_filter_order_by_or_show_deleted_is_page_token_mismatch() {
    let server = Server::fresh().await;
    let mut client = server.client();
    seed(&mut client, 3).await;
    let token = first_token(&mut client).await;
    let changes = [
        ListUsersRequest {
            filter: "state = ACTIVE".to_owned(),
            ..page(2, &token)
        },
        ListUsersRequest {
            order_by: "email".to_owned(),
            ..page(2, &token)
        },
        ListUsersRequest {
            order_by: "create_time desc".to_owned(),
            ..page(2, &token)
        },
        ListUsersRequest {
            show_deleted: true,
            ..page(2, &token)
        },
    ];
    for changed in changes {
        let status = list(&mut client, changed.clone())
            .await
            .expect_err("another query");
        assert_error(&status, Code::InvalidArgument, "PAGE_TOKEN_MISMATCH");
    }
    // The same query spelled differently is the same query.
    let same = ListUsersRequest {
        order_by: " create_time  asc".to_owned(),
        ..page(5, &token)
    };
    assert_eq!(
        names(&list(&mut client, same).await.expect("the same query")),
        ["users/u2"]
    );
}

#[tokio::test]
async fn a_page_token_expires_after_the_page_token_lifetime() {
    let file = StoreFile::new();
    let mut settings = file.settings();
    let lifetime = Duration::from_millis(400);
    settings.directory.page_token_lifetime = lifetime;
    let server = Server::start(settings).await;
    let mut client = server.client();
    seed(&mut client, 3).await;
    let issued = Instant::now();
    let token = first_token(&mut client).await;
    let fresh = list(&mut client, page(2, &token)).await;
    // Only meaningful while the token is young; the lifetime is far above
    // one local call.
    if issued.elapsed() < lifetime {
        assert_eq!(names(&fresh.expect("a young token is valid")), ["users/u2"]);
    }
    // Polled, bounded: the token works until its lifetime is over.
    let deadline = Instant::now() + BOUND;
    let status = loop {
        match list(&mut client, page(2, &token)).await {
            Err(status) => break status,
            Ok(_) => assert!(
                Instant::now() < deadline,
                "the token expired within {BOUND:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(issued.elapsed() >= lifetime, "not before its lifetime");
    assert_error(&status, Code::InvalidArgument, "PAGE_TOKEN_EXPIRED");
}

#[tokio::test]
async fn a_page_token_stays_valid_across_a_restart_on_the_same_store() {
    let file = StoreFile::new();
    let before = Server::start(file.settings()).await;
    seed(&mut before.client(), 5).await;
    let token = first_token(&mut before.client()).await;
    before.stop().await;
    // No secret configured: the one kept in the store signs the tokens.
    let after = Server::start(file.settings()).await;
    let next = list(&mut after.client(), page(2, &token))
        .await
        .expect("still valid");
    assert_eq!(names(&next), ["users/u2", "users/u3"]);
}

/// Pages through five users alternating between two replicas.
async fn alternate(replicas: [&Server; 2]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut token = String::new();
    for turn in 0..10 {
        let mut client = replicas[turn % 2].client();
        let response = list(&mut client, page(2, &token))
            .await
            .expect("a replica reads the other's token");
        seen.extend(names(&response));
        if response.next_page_token.is_empty() {
            return seen;
        }
        token = response.next_page_token;
    }
    panic!("paging never ended: {seen:?}");
}

#[tokio::test]
async fn a_page_token_is_valid_on_every_replica_sharing_the_configured_secret() {
    let file = StoreFile::new();
    let mut settings = file.settings();
    settings.directory.page_token_secret = Secret::new("shared-by-every-replica-0123");
    let one = Server::start(settings.clone()).await;
    let two = Server::start(settings).await;
    seed(&mut one.client(), 5).await;
    let expected: Vec<String> = (0..5).map(|n| format!("users/u{n}")).collect();
    assert_eq!(alternate([&one, &two]).await, expected);
}

#[tokio::test]
async fn a_page_token_is_valid_on_every_replica_sharing_the_store_when_no_secret_is_configured() {
    let file = StoreFile::new();
    let one = Server::start(file.settings()).await;
    let two = Server::start(file.settings()).await;
    seed(&mut two.client(), 5).await;
    let expected: Vec<String> = (0..5).map(|n| format!("users/u{n}")).collect();
    assert_eq!(alternate([&one, &two]).await, expected);
}
