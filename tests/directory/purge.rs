//! The purge sweep: deleted users past their purge time disappear for good,
//! in bounded batches; nothing else is touched.
use std::time::Duration;

use tonic::Code;
use user_service::proto::v1::user::State;

use crate::{
    server::{BOUND, Server, StoreFile, eventually},
    support::{assert_error, create, delete, get},
};

#[tokio::test]
async fn a_deleted_user_is_purged_after_purge_after_and_then_not_found() {
    let file = StoreFile::new();
    let mut settings = file.settings();
    settings.store.purge_after = Duration::from_millis(300);
    settings.store.purge_interval = Duration::from_millis(100);
    // Small batches: a sweep needs several to clear the backlog.
    settings.store.purge_batch_size = 2;
    let server = Server::start(settings).await;
    let mut client = server.client();
    create(&mut client, "keep", "keep@x.org").await;
    let mut gone = Vec::new();
    for n in 0..5 {
        let name = format!("users/gone{n}");
        create(&mut client, &format!("gone{n}"), &format!("gone{n}@x.org")).await;
        delete(&mut client, &name, "").await.expect("deleted");
        gone.push(name);
    }
    let all_gone = eventually(BOUND, || {
        let mut client = client.clone();
        let gone = gone.clone();
        async move {
            for name in &gone {
                if get(&mut client, name).await.is_ok() {
                    return false;
                }
            }
            true
        }
    })
    .await;
    assert!(all_gone, "every deleted user was purged within {BOUND:?}");
    for name in &gone {
        let status = get(&mut client, name).await.expect_err("purged");
        assert_error(&status, Code::NotFound, "USER_NOT_FOUND");
    }
    let kept = get(&mut client, "users/keep")
        .await
        .expect("an active user is never purged");
    assert_eq!(kept.state, State::Active as i32);
    // The purged ids and emails are free again.
    create(&mut client, "gone0", "gone0@x.org").await;
}

#[tokio::test]
async fn a_deleted_user_is_kept_until_its_purge_time() {
    let file = StoreFile::new();
    let mut settings = file.settings();
    settings.store.purge_interval = Duration::from_millis(50);
    let server = Server::start(settings).await;
    let mut client = server.client();
    create(&mut client, "ann", "ann@x.org").await;
    delete(&mut client, "users/ann", "").await.expect("deleted");
    // A user purged at once would be deleted within a few sweeps; let
    // several run (each one tick), then check it is still there.
    let purged_one = eventually(Duration::from_millis(400), || {
        let mut client = client.clone();
        async move { get(&mut client, "users/ann").await.is_err() }
    })
    .await;
    assert!(
        !purged_one,
        "a user is not purged before its purge time (30 days)"
    );
    let read = get(&mut client, "users/ann").await.expect("still there");
    assert_eq!(read.state, State::Deleted as i32);
}
