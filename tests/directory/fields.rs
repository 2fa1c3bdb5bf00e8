//! Email and display-name rules, and that every violation of a request is
//! reported at once.
use user_service::proto::v1::{self, CreateUserRequest};

use crate::{
    server::Server,
    support::{Client, bad_fields, create, update, user, violation},
};

async fn create_with(
    client: &mut Client,
    email: &str,
    display_name: &str,
) -> Result<v1::User, tonic::Status> {
    let request = CreateUserRequest {
        user: Some(user(email, display_name)),
        ..CreateUserRequest::default()
    };
    client
        .create_user(request)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn create_without_an_email_is_invalid_argument_naming_user_email() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let status = create_with(&mut client, "", "Ann")
        .await
        .expect_err("email is required");
    assert_eq!(bad_fields(&status), ["user.email"]);
    assert!(
        violation(&status, "user.email").contains("required"),
        "{status:?}"
    );
}

#[tokio::test]
async fn create_without_a_user_is_invalid_argument_naming_user() {
    let server = Server::fresh().await;
    let status = server
        .client()
        .create_user(CreateUserRequest::default())
        .await
        .expect_err("user is required");
    assert_eq!(bad_fields(&status), ["user"]);
}

#[tokio::test]
async fn an_email_of_254_bytes_is_accepted_and_one_of_255_is_not() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let longest = format!("{}@x.org", "a".repeat(254 - 6));
    assert_eq!(longest.len(), 254);
    let created = create_with(&mut client, &longest, "")
        .await
        .expect("254 bytes");
    assert_eq!(created.email, longest);
    let too_long = format!("b{longest}");
    let status = create_with(&mut client, &too_long, "")
        .await
        .expect_err("255 bytes");
    assert_eq!(bad_fields(&status), ["user.email"]);
    // Bytes, not characters: 131 characters, 256 bytes.
    let wide = format!("{}@x.org", "é".repeat(125));
    assert!(wide.chars().count() < 254 && wide.len() > 254);
    let status = create_with(&mut client, &wide, "")
        .await
        .expect_err("over 254 bytes");
    assert_eq!(bad_fields(&status), ["user.email"]);
}

#[tokio::test]
async fn an_email_needs_one_at_between_a_local_part_and_a_domain() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for bad in ["ann", "@x.org", "ann@", "ann@x@org", "@"] {
        let status = create_with(&mut client, bad, "").await.expect_err(bad);
        assert_eq!(bad_fields(&status), ["user.email"], "{bad}");
    }
    create_with(&mut client, "a@b", "")
        .await
        .expect("the shortest address");
}

#[tokio::test]
async fn a_display_name_of_200_characters_is_accepted_and_one_of_201_is_not() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let longest = "é".repeat(200);
    let created = create_with(&mut client, "ann@x.org", &longest)
        .await
        .expect("200 characters");
    assert_eq!(created.display_name, longest);
    let status = create_with(&mut client, "bob@x.org", &"é".repeat(201))
        .await
        .expect_err("201");
    assert_eq!(bad_fields(&status), ["user.display_name"]);
}

#[tokio::test]
async fn a_display_name_with_a_control_character_is_refused() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for bad in ["Ann\nB", "Ann\tB", "Ann\u{7f}", "\u{0}", "Ann\u{85}"] {
        let status = create_with(&mut client, "ann@x.org", bad)
            .await
            .expect_err(bad);
        assert_eq!(bad_fields(&status), ["user.display_name"], "{bad:?}");
    }
    create_with(&mut client, "ann@x.org", "Ann Émile-Zoë 😀")
        .await
        .expect("printable");
}

#[tokio::test]
async fn every_violation_of_a_create_is_reported_at_once() {
    let server = Server::fresh().await;
    let request = CreateUserRequest {
        user: Some(user("no-at", &"x".repeat(201))),
        user_id: "Bad_Id".to_owned(),
        request_id: "not-a-uuid".to_owned(),
        validate_only: false,
    };
    let status = server
        .client()
        .create_user(request)
        .await
        .expect_err("all bad");
    let mut fields = bad_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        ["request_id", "user.display_name", "user.email", "user_id"]
    );
}

#[tokio::test]
async fn an_update_checks_the_email_and_display_name_too_and_reports_both() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let bad = v1::User {
        email: "no-at".to_owned(),
        display_name: "a\nb".to_owned(),
        ..ann.clone()
    };
    let status = update(&mut client, bad, None).await.expect_err("both bad");
    let mut fields = bad_fields(&status);
    fields.sort();
    assert_eq!(fields, ["user.display_name", "user.email"]);
    let status = update(&mut client, user("", ""), Some(&["*"]))
        .await
        .expect_err("no name, no email");
    let mut fields = bad_fields(&status);
    fields.sort();
    assert_eq!(fields, ["user.email", "user.name"]);
}
