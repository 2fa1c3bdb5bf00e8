//! GetUser: unknown is NOT_FOUND; a deleted user is still returned.
use tonic::Code;
use user_service::proto::v1::user::State;

use crate::{
    server::Server,
    support::{assert_error, create, delete, get},
};

#[tokio::test]
async fn get_returns_the_user_as_created() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    assert_eq!(get(&mut client, "users/ann").await.expect("found"), ann);
}

#[tokio::test]
async fn get_of_an_unknown_user_is_not_found() {
    let server = Server::fresh().await;
    let mut client = server.client();
    for name in ["users/nobody", &format!("users/{}", uuid::Uuid::new_v4())] {
        let status = get(&mut client, name).await.expect_err(name);
        assert_error(&status, Code::NotFound, "USER_NOT_FOUND");
    }
}

#[tokio::test]
async fn get_of_a_deleted_user_returns_it_with_state_deleted_and_its_times() {
    let server = Server::fresh().await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    let deleted = delete(&mut client, "users/ann", "").await.expect("deleted");
    let read = get(&mut client, "users/ann").await.expect("still returned");
    assert_eq!(read.state, State::Deleted as i32);
    assert!(read.delete_time.is_some() && read.purge_time.is_some());
    assert_eq!(read, deleted);
}
