//! Soft DeleteUser (AIP-164) and UndeleteUser.
use std::time::Duration;

use tonic::Code;
use user_service::proto::v1::{DeleteUserRequest, user::State};

use crate::{
    server::{Server, StoreFile},
    support::{assert_error, create, delete, get, micros, undelete},
};

#[tokio::test]
async fn delete_is_soft_and_the_purge_time_is_purge_after_later() {
    let file = StoreFile::new();
    let mut settings = file.settings();
    settings.store.purge_after = Duration::from_secs(3 * 3600);
    let server = Server::start(settings).await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let deleted = delete(&mut client, "users/ann", "").await.expect("deleted");
    assert_eq!(deleted.state, State::Deleted as i32);
    assert_eq!((&deleted.uid, &deleted.email), (&ann.uid, &ann.email));
    let delete_time = micros(deleted.delete_time);
    assert!(delete_time >= micros(ann.create_time));
    assert_eq!(
        micros(deleted.purge_time),
        delete_time + 3 * 3600 * 1_000_000
    );
    assert_eq!(micros(deleted.update_time), delete_time);
    assert_ne!(deleted.etag, ann.etag, "a delete is a write");
}

#[tokio::test]
async fn delete_with_a_stale_etag_is_aborted_and_with_the_current_one_succeeds() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let status = delete(&mut client, "users/ann", "0123456789abcdef")
        .await
        .expect_err("stale");
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(
        get(&mut client, "users/ann")
            .await
            .expect("untouched")
            .state,
        State::Active as i32
    );
    delete(&mut client, "users/ann", &ann.etag)
        .await
        .expect("current etag");
}

#[tokio::test]
async fn delete_of_an_unknown_user_is_not_found_unless_allow_missing() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let status = delete(&mut client, "users/nobody", "")
        .await
        .expect_err("unknown");
    assert_error(&status, Code::NotFound, "USER_NOT_FOUND");
    let request = DeleteUserRequest {
        name: "users/nobody".to_owned(),
        etag: String::new(),
        allow_missing: true,
    };
    let answered = client
        .delete_user(request)
        .await
        .expect("nothing to do")
        .into_inner();
    assert_eq!(answered.name, "users/nobody");
    assert!(answered.uid.is_empty() && answered.email.is_empty());
    let status = get(&mut client, "users/nobody")
        .await
        .expect_err("still nobody");
    assert_error(&status, Code::NotFound, "USER_NOT_FOUND");
}

#[tokio::test]
async fn delete_of_a_deleted_user_is_failed_precondition_unless_allow_missing() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    let deleted = delete(&mut client, "users/ann", "").await.expect("deleted");
    let status = delete(&mut client, "users/ann", "")
        .await
        .expect_err("already deleted");
    assert_error(&status, Code::FailedPrecondition, "USER_DELETED");
    let request = DeleteUserRequest {
        name: "users/ann".to_owned(),
        etag: String::new(),
        allow_missing: true,
    };
    let unchanged = client
        .delete_user(request)
        .await
        .expect("nothing to do")
        .into_inner();
    assert_eq!(unchanged, deleted);
}

#[tokio::test]
async fn a_deleted_users_email_is_free_for_a_new_user_at_once() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "Ann@x.org").await;
    delete(&mut client, "users/ann", "").await.expect("deleted");
    let bob = create(&mut client, "bob", "ANN@x.org").await;
    assert_eq!(bob.state, State::Active as i32);
}

#[tokio::test]
async fn undelete_restores_the_user_and_checks_the_etag() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let deleted = delete(&mut client, "users/ann", "").await.expect("deleted");
    let status = undelete(&mut client, "users/ann", &ann.etag)
        .await
        .expect_err("stale etag");
    assert_error(&status, Code::Aborted, "ETAG_MISMATCH");
    let restored = undelete(&mut client, "users/ann", &deleted.etag)
        .await
        .expect("undeleted");
    assert_eq!(restored.state, State::Active as i32);
    assert!(restored.delete_time.is_none() && restored.purge_time.is_none());
    assert_eq!(
        (&restored.uid, &restored.email, restored.create_time),
        (&ann.uid, &ann.email, ann.create_time)
    );
    assert_eq!(
        get(&mut client, "users/ann").await.expect("found"),
        restored
    );
    // An empty etag skips the check.
    delete(&mut client, "users/ann", "")
        .await
        .expect("deleted again");
    undelete(&mut client, "users/ann", "")
        .await
        .expect("no etag, no check");
}

#[tokio::test]
async fn undelete_of_a_user_that_is_not_deleted_is_already_exists() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    let status = undelete(&mut client, "users/ann", "")
        .await
        .expect_err("not deleted");
    assert_error(&status, Code::AlreadyExists, "USER_NOT_DELETED");
    let status = undelete(&mut client, "users/nobody", "")
        .await
        .expect_err("unknown");
    assert_error(&status, Code::NotFound, "USER_NOT_FOUND");
}

#[tokio::test]
async fn undelete_when_the_email_was_taken_meanwhile_is_already_exists() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    delete(&mut client, "users/ann", "").await.expect("deleted");
    create(&mut client, "bob", "Ann@X.org").await;
    let status = undelete(&mut client, "users/ann", "")
        .await
        .expect_err("email taken");
    assert_error(&status, Code::AlreadyExists, "EMAIL_ALREADY_EXISTS");
    assert_eq!(
        get(&mut client, "users/ann").await.expect("found").state,
        State::Deleted as i32
    );
}
