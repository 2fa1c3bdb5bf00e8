//! Writers spread over two replicas of one database: optimistic concurrency,
//! unique emails, request_id idempotency and exact counts hold across them.
use std::collections::HashSet;

use tonic::Code;
use user_service::proto::v1::{self, CreateUserRequest, ListUsersRequest};

use crate::{
    skipped,
    support::{assert_error, create, create_request, get, list_all, update},
    two_replicas,
};

const WRITERS: usize = 8;
/// Increments each counting writer makes.
const INCREMENTS: usize = 10;
/// The most tries one increment gets before the test calls it starved.
const MAX_TRIES: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_updates_holding_one_etag_through_two_replicas_exactly_one_wins() {
    let Some(replicas) = two_replicas().await else {
        return skipped("etag writers");
    };
    let ann = create(&mut replicas[0].client(), "ann", "ann@x.org").await;
    let updates: Vec<_> = (0..WRITERS)
        .map(|n| {
            let mut client = replicas[n % 2].client();
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
    for handle in updates {
        match handle.await.expect("the task ran") {
            Ok(user) => winners.push(user),
            Err(status) => assert_error(&status, Code::Aborted, "ETAG_MISMATCH"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    let stored = get(&mut replicas[1].client(), &ann.name)
        .await
        .expect("found");
    assert_eq!(stored, winners[0], "both replicas see the winner's write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_through_both_replicas_with_etags_lose_no_update() {
    let Some(replicas) = two_replicas().await else {
        return skipped("counting writers");
    };
    let counter = create(&mut replicas[0].client(), "counter", "c@x.org").await;
    let writers: Vec<_> = (0..4)
        .map(|n| {
            let mut client = replicas[n % 2].client();
            let name = counter.name.clone();
            tokio::spawn(async move {
                let mut tries = 0;
                for _ in 0..INCREMENTS {
                    loop {
                        tries += 1;
                        assert!(tries < MAX_TRIES, "writer {n} starved");
                        let user = get(&mut client, &name).await.expect("read");
                        let count: usize = user.display_name.parse().unwrap_or(0);
                        let next = v1::User {
                            display_name: (count + 1).to_string(),
                            ..user
                        };
                        match update(&mut client, next, Some(&["display_name"])).await {
                            Ok(_) => break,
                            Err(status) => assert_eq!(status.code(), Code::Aborted, "{status:?}"),
                        }
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("every writer finished");
    }
    let stored = get(&mut replicas[1].client(), &counter.name)
        .await
        .expect("read");
    assert_eq!(stored.display_name, (4 * INCREMENTS).to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_id_sent_to_both_replicas_at_once_creates_one_user() {
    let Some(replicas) = two_replicas().await else {
        return skipped("request_id across replicas");
    };
    let request = CreateUserRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        ..create_request("", "once@x.org")
    };
    let creates: Vec<_> = (0..WRITERS)
        .map(|n| {
            let mut client = replicas[n % 2].client();
            let request = request.clone();
            tokio::spawn(async move { client.create_user(request).await })
        })
        .collect();
    let mut uids = HashSet::new();
    for handle in creates {
        let user = handle
            .await
            .expect("the task ran")
            .expect("every try succeeds");
        uids.insert((user.get_ref().name.clone(), user.get_ref().uid.clone()));
    }
    assert_eq!(
        uids.len(),
        1,
        "one user, whichever replica answered: {uids:?}"
    );
    let all = list_all(&mut replicas[0].client(), ListUsersRequest::default()).await;
    assert_eq!(all.len(), 1, "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_creates_of_one_email_through_two_replicas_exactly_one_wins() {
    let Some(replicas) = two_replicas().await else {
        return skipped("unique email across replicas");
    };
    let creates: Vec<_> = (0..WRITERS)
        .map(|n| {
            let mut client = replicas[n % 2].client();
            // The same email in different cases: it is one email.
            let email = match n % 2 {
                0 => "Same@x.org",
                _ => "same@X.ORG",
            };
            let request = create_request(&format!("u{n}"), email);
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
async fn creates_through_two_replicas_all_succeed_and_the_count_is_exact() {
    let Some(replicas) = two_replicas().await else {
        return skipped("concurrent creates across replicas");
    };
    let creators: Vec<_> = (0..WRITERS)
        .map(|task| {
            let mut client = replicas[task % 2].client();
            tokio::spawn(async move {
                for n in 0..INCREMENTS {
                    let request = create_request("", &format!("t{task}-{n}@x.org"));
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
    let request = ListUsersRequest {
        page_size: 1000,
        ..ListUsersRequest::default()
    };
    let names = list_all(&mut replicas[1].client(), request).await;
    assert_eq!(names.len(), WRITERS * INCREMENTS);
}
