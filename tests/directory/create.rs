//! CreateUser: taken ids and emails, request-id idempotency (AIP-155) and
//! validate_only.
use tonic::Code;
use user_service::proto::v1::{CreateUserRequest, ListUsersRequest, user::State};

use crate::{
    server::Server,
    support::{Client, assert_error, bad_fields, create, create_request, get, list_all},
};

fn with_request_id(user_id: &str, email: &str, request_id: &str) -> CreateUserRequest {
    CreateUserRequest {
        request_id: request_id.to_owned(),
        ..create_request(user_id, email)
    }
}

async fn everyone(client: &mut Client) -> Vec<String> {
    list_all(
        client,
        ListUsersRequest {
            show_deleted: true,
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn create_returns_an_active_user_with_its_output_fields_set() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "Ann@Example.org").await;
    assert_eq!(ann.email, "Ann@Example.org", "stored as given");
    assert_eq!(ann.state, State::Active as i32);
    assert!(ann.create_time.is_some() && ann.create_time == ann.update_time);
    assert!(ann.delete_time.is_none() && ann.purge_time.is_none());
    assert!(!ann.etag.is_empty());
}

#[tokio::test]
async fn create_with_a_taken_user_id_is_already_exists() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    let status = client
        .create_user(create_request("ann", "other@x.org"))
        .await
        .expect_err("taken");
    assert_error(&status, Code::AlreadyExists, "USER_ALREADY_EXISTS");
}

#[tokio::test]
async fn create_with_a_taken_email_is_already_exists_whatever_its_case() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "Ann@Example.org").await;
    for email in ["Ann@Example.org", "ann@example.org", "ANN@EXAMPLE.ORG"] {
        let status = client
            .create_user(create_request("bob", email))
            .await
            .expect_err(email);
        assert_error(&status, Code::AlreadyExists, "EMAIL_ALREADY_EXISTS");
        assert!(
            !status.message().contains("ann"),
            "no other user's data in the message: {status:?}"
        );
    }
    assert_eq!(everyone(&mut client).await, ["users/ann"]);
}

#[tokio::test]
async fn the_same_request_id_sent_again_returns_the_first_user_and_creates_no_second() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let request_id = uuid::Uuid::new_v4().to_string();
    // A server-chosen id: without the request id a retry would make a second user.
    let request = with_request_id("", "ann@x.org", &request_id);
    let first = client
        .create_user(request.clone())
        .await
        .expect("created")
        .into_inner();
    // The first answer was lost: the client sends the same request again.
    let again = client
        .create_user(request)
        .await
        .expect("the same user")
        .into_inner();
    assert_eq!(
        (&again.name, &again.uid, &again.etag),
        (&first.name, &first.uid, &first.etag)
    );
    assert_eq!(everyone(&mut client).await, [first.name]);
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_after_other_writes_still_returns_the_first_user() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let request_id = uuid::Uuid::new_v4().to_string();
    let first = client
        .create_user(with_request_id("ann", "ann@x.org", &request_id))
        .await
        .expect("created")
        .into_inner();
    create(&mut client, "bob", "bob@x.org").await;
    // Even though the id (and email) would now be refused as taken.
    let again = client
        .create_user(with_request_id("ann", "ann@x.org", &request_id))
        .await
        .expect("not ALREADY_EXISTS: the same request")
        .into_inner();
    assert_eq!(again.uid, first.uid);
    assert_eq!(everyone(&mut client).await, ["users/ann", "users/bob"]);
}

#[tokio::test]
async fn a_request_id_that_is_not_a_uuid_is_invalid_argument_naming_request_id() {
    let server = Server::fresh().await;
    let status = server
        .client()
        .create_user(with_request_id("ann", "ann@x.org", "retry-1"))
        .await
        .expect_err("not a UUID");
    assert_eq!(bad_fields(&status), ["request_id"]);
}

#[tokio::test]
async fn validate_only_answers_the_user_and_writes_nothing() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let request = CreateUserRequest {
        validate_only: true,
        request_id: uuid::Uuid::new_v4().to_string(),
        ..create_request("ann", "ann@x.org")
    };
    let preview = client
        .create_user(request.clone())
        .await
        .expect("valid")
        .into_inner();
    assert_eq!(
        (preview.name.as_str(), preview.email.as_str()),
        ("users/ann", "ann@x.org")
    );
    let status = get(&mut client, "users/ann")
        .await
        .expect_err("nothing written");
    assert_error(&status, Code::NotFound, "USER_NOT_FOUND");
    assert!(everyone(&mut client).await.is_empty());
    // Nor was its request id used up: the real create writes.
    let real = CreateUserRequest {
        validate_only: false,
        ..request
    };
    let created = client
        .create_user(real)
        .await
        .expect("created")
        .into_inner();
    assert_eq!(
        get(&mut client, "users/ann").await.expect("there now"),
        created
    );
}

#[tokio::test]
async fn validate_only_still_detects_every_conflict() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    let check = |user_id: &str, email: &str| CreateUserRequest {
        validate_only: true,
        ..create_request(user_id, email)
    };
    let status = client
        .create_user(check("ann", "new@x.org"))
        .await
        .expect_err("id taken");
    assert_error(&status, Code::AlreadyExists, "USER_ALREADY_EXISTS");
    let status = client
        .create_user(check("bob", "ANN@x.org"))
        .await
        .expect_err("email taken");
    assert_error(&status, Code::AlreadyExists, "EMAIL_ALREADY_EXISTS");
    let status = client
        .create_user(check("Bob", "no-at"))
        .await
        .expect_err("invalid");
    assert_eq!(bad_fields(&status).len(), 2);
    assert_eq!(everyone(&mut client).await, ["users/ann"]);
}

#[tokio::test]
async fn validate_only_with_a_used_request_id_answers_the_user_it_created() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let request_id = uuid::Uuid::new_v4().to_string();
    let first = client
        .create_user(with_request_id("ann", "ann@x.org", &request_id))
        .await
        .expect("created")
        .into_inner();
    let check = CreateUserRequest {
        validate_only: true,
        ..with_request_id("ann", "ann@x.org", &request_id)
    };
    let answered = client
        .create_user(check)
        .await
        .expect("the earlier user")
        .into_inner();
    assert_eq!(answered.uid, first.uid);
}
