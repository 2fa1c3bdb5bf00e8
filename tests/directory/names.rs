//! Ids and names: client-chosen ids follow AIP-122, server-chosen ones are
//! UUIDs, and a malformed id or name is INVALID_ARGUMENT naming the field.
use user_service::proto::v1::{self, DeleteUserRequest};

use crate::{
    server::Server,
    support::{bad_fields, create, create_request, delete, get, undelete, update, user},
};

const BAD_IDS: [&str; 8] = ["1a", "A", "Ann", "a-", "-a", "a_b", "a.b", "é"];

#[tokio::test]
async fn create_with_a_malformed_user_id_is_invalid_argument_naming_user_id() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let too_long = "a".repeat(64);
    for bad in BAD_IDS.iter().copied().chain([too_long.as_str()]) {
        let status = client
            .create_user(create_request(bad, "ann@x.org"))
            .await
            .expect_err(bad);
        assert_eq!(bad_fields(&status), ["user_id"], "{bad}");
    }
}

#[tokio::test]
async fn create_with_a_well_formed_user_id_names_the_user_after_it() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let longest = format!("a{}", "b".repeat(62));
    for (n, id) in ["a", "a-1", "b0", longest.as_str()].into_iter().enumerate() {
        let created = create(&mut client, id, &format!("u{n}@x.org")).await;
        assert_eq!(created.name, format!("users/{id}"));
        assert_eq!(
            get(&mut client, &created.name).await.expect("found"),
            created
        );
    }
}

#[tokio::test]
async fn create_without_a_user_id_gets_a_server_chosen_uuid() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let first = create(&mut client, "", "ann@x.org").await;
    let second = create(&mut client, "", "bob@x.org").await;
    for created in [&first, &second] {
        let id = created.name.strip_prefix("users/").expect("a users/ name");
        let uuid = uuid::Uuid::parse_str(id).expect("the id is a UUID");
        assert_eq!(uuid.hyphenated().to_string(), id, "in its canonical form");
        assert_eq!(
            get(&mut client, &created.name)
                .await
                .expect("found by its name"),
            *created
        );
    }
    assert_ne!(first.name, second.name);
}

#[tokio::test]
async fn every_user_gets_a_uid_that_is_a_uuid_and_its_own() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let bob = create(&mut client, "bob", "bob@x.org").await;
    for created in [&ann, &bob] {
        let uid = uuid::Uuid::parse_str(&created.uid).expect("uid is a UUID");
        assert_eq!(uid.get_version_num(), 4, "a UUID4");
    }
    assert_ne!(ann.uid, bob.uid);
}

#[tokio::test]
async fn get_with_a_malformed_name_is_invalid_argument_naming_name() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for bad in [
        "",
        "alice",
        "users/",
        "users/Alice",
        "user/alice",
        "users/a/b",
        "users/7D444840-9DC0-11D1-B245-5FFDCE74FAD2",
    ] {
        let status = get(&mut client, bad).await.expect_err(bad);
        assert_eq!(bad_fields(&status), ["name"], "{bad}");
    }
}

#[tokio::test]
async fn delete_and_undelete_with_a_malformed_name_are_invalid_argument_naming_name() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let status = delete(&mut client, "users/Bad", "")
        .await
        .expect_err("bad name");
    assert_eq!(bad_fields(&status), ["name"]);
    let request = DeleteUserRequest {
        name: "people/ann".to_owned(),
        etag: String::new(),
        allow_missing: true,
    };
    let status = client
        .delete_user(request)
        .await
        .expect_err("allow_missing does not excuse it");
    assert_eq!(bad_fields(&status), ["name"]);
    let status = undelete(&mut client, "users/a_b", "")
        .await
        .expect_err("bad name");
    assert_eq!(bad_fields(&status), ["name"]);
}

#[tokio::test]
async fn update_with_a_malformed_name_is_invalid_argument_naming_user_name() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for bad in ["", "users/Ann", "ann"] {
        let target = v1::User {
            name: bad.to_owned(),
            ..user("ann@x.org", "Ann")
        };
        let status = update(&mut client, target, None).await.expect_err(bad);
        assert_eq!(bad_fields(&status), ["user.name"], "{bad}");
    }
}
