//! ListUsers page sizes (AIP-158) and when `next_page_token` is empty.
use user_service::{
    directory::{DisplayName, Email, Micros, NewUser, UserId, new_etag},
    proto::v1::ListUsersRequest,
};

use crate::{
    server::{Server, StoreFile},
    support::{bad_fields, create, list},
};

/// A server over `count` users, written through the store itself before
/// it starts (quicker than as many calls; the data is the same).
async fn server_with_users(count: usize) -> (Server, StoreFile) {
    let file = StoreFile::new();
    let mut settings = file.settings();
    settings.store.sqlite_synchronous = "normal".to_owned();
    let store = user_service::store::open(&settings.store)
        .await
        .expect("the store opens");
    for n in 0..count {
        let new = NewUser {
            id: UserId::parse(&format!("u{n:04}")).expect("valid id"),
            uid: uuid::Uuid::new_v4(),
            email: Email::parse(&format!("u{n}@x.org")).expect("valid email"),
            display_name: DisplayName::default(),
            request_id: None,
            now: Micros(1_000 + n as i64),
            etag: new_etag(),
        };
        store.create(&new).await.expect("seeded");
    }
    drop(store);
    (Server::start(settings).await, file)
}

fn sized(page_size: i32) -> ListUsersRequest {
    ListUsersRequest {
        page_size,
        ..ListUsersRequest::default()
    }
}

#[tokio::test]
async fn a_page_size_of_zero_means_fifty() {
    let (server, _file) = server_with_users(51).await;
    let page = list(&mut server.client(), sized(0)).await.expect("a page");
    assert_eq!(page.users.len(), 50);
    assert!(!page.next_page_token.is_empty());
}

#[tokio::test]
async fn a_page_size_above_a_thousand_means_a_thousand() {
    let (server, _file) = server_with_users(1001).await;
    let mut client = server.client();
    let page = list(&mut client, sized(5000)).await.expect("a page");
    assert_eq!(page.users.len(), 1000);
    assert!(!page.next_page_token.is_empty());
    let rest = ListUsersRequest {
        page_token: page.next_page_token,
        ..sized(i32::MAX)
    };
    let last = list(&mut client, rest).await.expect("the last page");
    assert_eq!(
        last.users
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
        ["users/u1000"]
    );
    assert!(last.next_page_token.is_empty());
}

#[tokio::test]
async fn a_negative_page_size_is_invalid_argument_naming_page_size() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for size in [-1, i32::MIN] {
        let status = list(&mut client, sized(size)).await.expect_err("negative");
        assert_eq!(bad_fields(&status), ["page_size"]);
    }
}

/// Page lengths and whether each page carried a token, `page_size` at a time.
async fn pages(server: &Server, page_size: i32) -> Vec<(usize, bool)> {
    let mut client = server.client();
    let mut request = sized(page_size);
    let mut seen = Vec::new();
    for _ in 0..20 {
        let page = list(&mut client, request.clone()).await.expect("a page");
        seen.push((page.users.len(), !page.next_page_token.is_empty()));
        if page.next_page_token.is_empty() {
            return seen;
        }
        request.page_token = page.next_page_token;
    }
    panic!("paging never ended: {seen:?}");
}

#[tokio::test]
async fn next_page_token_is_empty_only_on_the_last_page() {
    let server = Server::fresh().await;
    let mut client = server.client();
    assert_eq!(
        pages(&server, 2).await,
        [(0, false)],
        "an empty collection is one last page"
    );
    for n in 0..4 {
        create(&mut client, &format!("u{n}"), &format!("u{n}@x.org")).await;
    }
    // A full last page has no token either: nothing follows it.
    assert_eq!(pages(&server, 2).await, [(2, true), (2, false)]);
    assert_eq!(pages(&server, 4).await, [(4, false)]);
    assert_eq!(pages(&server, 3).await, [(3, true), (1, false)]);
    create(&mut client, "u4", "u4@x.org").await;
    assert_eq!(pages(&server, 2).await, [(2, true), (2, true), (1, false)]);
}

#[tokio::test]
async fn the_page_size_may_change_from_page_to_page() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for n in 0..6 {
        create(&mut client, &format!("u{n}"), &format!("u{n}@x.org")).await;
    }
    let first = list(&mut client, sized(1)).await.expect("first page");
    let rest = ListUsersRequest {
        page_token: first.next_page_token,
        ..sized(10)
    };
    let rest = list(&mut client, rest)
        .await
        .expect("the same token, another size");
    let names: Vec<_> = first
        .users
        .iter()
        .chain(&rest.users)
        .map(|u| u.name.clone())
        .collect();
    assert_eq!(
        names,
        (0..6).map(|n| format!("users/u{n}")).collect::<Vec<_>>()
    );
    assert!(rest.next_page_token.is_empty());
}
