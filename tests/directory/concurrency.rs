//! Concurrent writers: of many updates holding the same etag exactly one
//! wins, concurrent creates all succeed (writers queue, SQLITE_BUSY never
//! reaches a client), and an email stays unique across replicas.
use tonic::Code;
use user_service::proto::v1::{self, ListUsersRequest, user_service_client::UserServiceClient};

use crate::{
    server::{Server, StoreFile},
    support::{assert_error, create, get, list_all, update},
};

const UPDATERS: usize = 16;
const CREATORS: usize = 8;
const CREATES_EACH: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_sixteen_updates_holding_the_same_etag_exactly_one_wins() {
    let server = Server::fresh().await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;
    let updates: Vec<_> = (0..UPDATERS)
        .map(|n| {
            let mut client = server.client();
            let user = v1::User {
                name: ann.name.clone(),
                display_name: format!("writer {n}"),
                etag: ann.etag.clone(),
                ..v1::User::default()
            };
            tokio::spawn(async move { update(&mut client, user, None).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (n, handle) in updates.into_iter().enumerate() {
        match handle.await.expect("the task ran") {
            Ok(user) => winners.push((n, user)),
            Err(status) => assert_error(&status, Code::Aborted, "ETAG_MISMATCH"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    let (winner, won) = winners.pop().expect("one winner");
    assert_eq!(won.display_name, format!("writer {winner}"));
    let stored = get(&mut client, &ann.name).await.expect("found");
    assert_eq!(stored, won, "the final state is the winner's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_all_succeed_and_the_count_is_exact() {
    let server = Server::fresh().await;
    create_concurrently(|_| server.client()).await;
    let request = ListUsersRequest {
        page_size: 1000,
        ..ListUsersRequest::default()
    };
    let names = list_all(&mut server.client(), request).await;
    assert_eq!(names.len(), CREATORS * CREATES_EACH);
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_creates_of_one_email_on_two_replicas_exactly_one_wins() {
    let file = StoreFile::new();
    let replicas = [
        Server::start(file.settings()).await,
        Server::start(file.settings()).await,
    ];
    let creates: Vec<_> = (0..CREATORS)
        .map(|n| {
            let mut client = replicas[n % 2].client();
            let request = crate::support::create_request(&format!("u{n}"), "Same@x.org");
            tokio::spawn(async move { client.create_user(request).await })
        })
        .collect();
    let mut created = 0;
    for handle in creates {
        match handle.await.expect("the task ran") {
            Ok(_) => created += 1,
            Err(status) => assert_error(&status, Code::AlreadyExists, "EMAIL_ALREADY_EXISTS"),
        }
    }
    assert_eq!(created, 1, "the email is unique across replicas");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_on_two_replicas_of_one_store_all_succeed() {
    let file = StoreFile::new();
    let replicas = [
        Server::start(file.settings()).await,
        Server::start(file.settings()).await,
    ];
    create_concurrently(|task| replicas[task % 2].client()).await;
    let request = ListUsersRequest {
        page_size: 1000,
        ..ListUsersRequest::default()
    };
    let names = list_all(&mut replicas[0].client(), request).await;
    assert_eq!(names.len(), CREATORS * CREATES_EACH);
}

/// `CREATORS` tasks each creating `CREATES_EACH` users at once, task `t` over
/// `client(t)`; every create must succeed.
async fn create_concurrently(
    client: impl Fn(usize) -> UserServiceClient<tonic::transport::Channel>,
) {
    let creators: Vec<_> = (0..CREATORS)
        .map(|task| {
            let mut client = client(task);
            tokio::spawn(async move {
                for n in 0..CREATES_EACH {
                    let request = crate::support::create_request("", &format!("t{task}-{n}@x.org"));
                    if let Err(status) = client.create_user(request).await {
                        panic!("task {task}, create {n}: {status:?}");
                    }
                }
            })
        })
        .collect();
    for creator in creators {
        creator.await.expect("every create succeeded");
    }
}
