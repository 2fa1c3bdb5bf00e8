//! ListUsers filter (the AIP-160 subset), order_by and show_deleted.
use user_service::proto::v1::{self, ListUsersRequest};

use crate::{
    server::Server,
    support::{Client, bad_fields, create, delete, list_all, update, violation},
};

/// Five users with distinct emails (in mixed case) and names; `e` deleted.
async fn seed(client: &mut Client) -> Vec<v1::User> {
    let mut users = Vec::new();
    for (id, email, name) in [
        ("a", "Dora@x.org", "Zed"),
        ("b", "bob@x.org", "Amy"),
        ("c", "CARL@x.org", "Amy"),
        ("d", "adam@x.org", "Max"),
        ("e", "eve@x.org", "Eve"),
    ] {
        create(client, id, email).await;
        let named = v1::User {
            name: format!("users/{id}"),
            display_name: name.to_owned(),
            ..v1::User::default()
        };
        users.push(update(client, named, None).await.expect("named"));
    }
    delete(client, "users/e", "").await.expect("deleted");
    users
}

async fn listed(
    client: &mut Client,
    filter: &str,
    order_by: &str,
    show_deleted: bool,
) -> Vec<String> {
    let request = ListUsersRequest {
        page_size: 2,
        filter: filter.to_owned(),
        order_by: order_by.to_owned(),
        show_deleted,
        ..ListUsersRequest::default()
    };
    list_all(client, request)
        .await
        .into_iter()
        .map(|name| name.replace("users/", ""))
        .collect()
}

#[tokio::test]
async fn filters_select_by_email_case_insensitively_display_name_and_state() {
    let server = Server::fresh().await;
    let mut client = server.client();
    seed(&mut client).await;
    assert_eq!(
        listed(&mut client, r#"email = "carl@X.ORG""#, "", false).await,
        ["c"]
    );
    assert_eq!(
        listed(&mut client, r#"display_name = "Amy""#, "", false).await,
        ["b", "c"]
    );
    assert!(
        listed(&mut client, r#"display_name = "amy""#, "", false)
            .await
            .is_empty()
    );
    assert_eq!(
        listed(
            &mut client,
            r#"display_name="Amy" AND email="BOB@x.org""#,
            "",
            false
        )
        .await,
        ["b"]
    );
    assert_eq!(
        listed(&mut client, "state = ACTIVE", "", true).await,
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        listed(&mut client, "state = DELETED", "", true).await,
        ["e"]
    );
    assert!(
        listed(&mut client, "state = DELETED", "", false)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn unsupported_filters_are_invalid_argument_naming_what_is_unsupported() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for (filter, names) in [
        (r#"uid = "x""#, "uid"),
        (r#"email != "x""#, "!="),
        (r#"email : "x""#, ":"),
        (r#"email = "a@x" OR email = "b@x""#, "OR"),
        (r#"NOT email = "a@x""#, "NOT"),
        (r#"(email = "a@x")"#, "parentheses"),
        ("display_name = a*", "wildcards"),
        ("state = GONE", "GONE"),
        ("create_time > 5", ">"),
        (r#"create_time = "5""#, "create_time"),
        (r#"email = "unclosed"#, "not closed"),
    ] {
        let request = ListUsersRequest {
            filter: filter.to_owned(),
            ..ListUsersRequest::default()
        };
        let status = client.list_users(request).await.expect_err(filter);
        assert_eq!(bad_fields(&status), ["filter"], "{filter}");
        assert!(
            violation(&status, "filter").contains(names),
            "{filter}: {status:?}"
        );
    }
}

#[tokio::test]
async fn every_order_by_field_sorts_in_both_directions() {
    let server = Server::fresh().await;
    let mut client = server.client();
    seed(&mut client).await;
    for (order_by, ascending) in [
        ("create_time", ["a", "b", "c", "d"]),
        ("email", ["d", "b", "c", "a"]),
        ("display_name", ["b", "c", "d", "a"]),
    ] {
        let asc = listed(&mut client, "", order_by, false).await;
        assert_eq!(asc, ascending, "{order_by}");
        assert_eq!(
            listed(&mut client, "", &format!("{order_by} asc"), false).await,
            ascending
        );
        let mut descending = ascending.to_vec();
        descending.reverse();
        let desc = listed(&mut client, "", &format!("{order_by} desc"), false).await;
        assert_eq!(desc, descending, "{order_by} desc");
    }
    assert_eq!(
        listed(&mut client, "", "", false).await,
        ["a", "b", "c", "d"],
        "create_time by default"
    );
}

#[tokio::test]
async fn unsupported_order_by_is_invalid_argument_naming_what_is_unsupported() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for (order_by, names) in [
        ("uid", "uid"),
        ("email, display_name", "more than one field"),
        ("email upward", "upward"),
    ] {
        let request = ListUsersRequest {
            order_by: order_by.to_owned(),
            ..ListUsersRequest::default()
        };
        let status = client.list_users(request).await.expect_err(order_by);
        assert_eq!(bad_fields(&status), ["order_by"], "{order_by}");
        assert!(
            violation(&status, "order_by").contains(names),
            "{order_by}: {status:?}"
        );
    }
}

#[tokio::test]
async fn deleted_users_are_listed_only_with_show_deleted() {
    let server = Server::fresh().await;
    let mut client = server.client();
    seed(&mut client).await;
    assert_eq!(
        listed(&mut client, "", "", false).await,
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        listed(&mut client, "", "", true).await,
        ["a", "b", "c", "d", "e"]
    );
    assert!(
        listed(&mut client, r#"email = "eve@x.org""#, "", false)
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&mut client, r#"email = "eve@x.org""#, "", true).await,
        ["e"]
    );
}
