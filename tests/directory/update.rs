//! UpdateUser (AIP-134) conditions: etags, unknown users and
//! allow_missing, deleted users, taken emails.
use tonic::Code;
use user_service::proto::v1::{self, UpdateUserRequest, user::State};

use crate::{
    server::Server,
    support::{assert_error, bad_fields, create, delete, get, named, update},
};

#[tokio::test]
async fn a_stale_etag_is_aborted_with_etag_mismatch() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let first = v1::User {
        etag: ann.etag.clone(),
        ..named("users/ann", "", "First")
    };
    update(&mut client, first, None)
        .await
        .expect("the current etag");
    let second = v1::User {
        etag: ann.etag.clone(),
        ..named("users/ann", "", "Second")
    };
    let status = update(&mut client, second, None).await.expect_err("stale");
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(
        get(&mut client, "users/ann")
            .await
            .expect("found")
            .display_name,
        "First"
    );
}

#[tokio::test]
async fn an_empty_etag_skips_the_check() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    update(&mut client, named("users/ann", "", "One"), None)
        .await
        .expect("no etag");
    let two = update(&mut client, named("users/ann", "", "Two"), None)
        .await
        .expect("no etag");
    assert_eq!(two.display_name, "Two");
}

#[tokio::test]
async fn an_update_of_an_unknown_user_is_not_found() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let status = update(&mut client, named("users/nobody", "n@x.org", ""), None)
        .await
        .expect_err("unknown");
    assert_error(&status, Code::NotFound, "USER_NOT_FOUND");
}

#[tokio::test]
async fn allow_missing_creates_an_unknown_user_and_needs_its_email() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let request = |email: &str| UpdateUserRequest {
        user: Some(named("users/newbie", email, "New")),
        update_mask: None,
        allow_missing: true,
    };
    let status = client.update_user(request("")).await.expect_err("no email");
    assert_eq!(bad_fields(&status), ["user.email"]);
    let created = client
        .update_user(request("new@x.org"))
        .await
        .expect("created")
        .into_inner();
    assert_eq!(
        (created.name.as_str(), created.email.as_str()),
        ("users/newbie", "new@x.org")
    );
    assert_eq!(created.state, State::Active as i32);
    assert!(uuid::Uuid::parse_str(&created.uid).is_ok());
    assert_eq!(
        get(&mut client, "users/newbie").await.expect("there"),
        created
    );
    // On an existing user it is an ordinary update.
    let again = client
        .update_user(request("newer@x.org"))
        .await
        .expect("updated")
        .into_inner();
    assert_eq!(
        (again.uid.as_str(), again.email.as_str()),
        (created.uid.as_str(), "newer@x.org")
    );
}

#[tokio::test]
async fn an_update_of_a_deleted_user_is_failed_precondition() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    delete(&mut client, "users/ann", "").await.expect("deleted");
    let status = update(&mut client, named("users/ann", "", "X"), None)
        .await
        .expect_err("deleted");
    assert_error(&status, Code::FailedPrecondition, "USER_DELETED");
    // The etag is checked first: a stale one is ABORTED even here.
    let stale = v1::User {
        etag: "0123456789abcdef".to_owned(),
        ..named("users/ann", "", "X")
    };
    let status = update(&mut client, stale, None).await.expect_err("stale");
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
}

#[tokio::test]
async fn an_email_change_to_a_taken_email_is_already_exists() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    create(&mut client, "bob", "bob@x.org").await;
    let status = update(&mut client, named("users/bob", "ANN@x.org", ""), None)
        .await
        .expect_err("taken");
    assert_error(&status, Code::AlreadyExists, "EMAIL_ALREADY_EXISTS");
    let own = update(&mut client, named("users/bob", "BOB@x.org", ""), None)
        .await
        .expect("its own");
    assert_eq!(own.email, "BOB@x.org");
}
