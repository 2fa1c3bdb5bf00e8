//! Keyset paging while the collection changes: writers insert and delete
//! users between every two pages, and a full listing still returns no user
//! twice and every user that existed unchanged throughout.
use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use user_service::proto::v1::ListUsersRequest;

use crate::{
    server::{BOUND, Server, eventually},
    support::{Client, create, delete, list},
};

/// Users that exist before the listing and are never touched.
const STABLE: usize = 30;
/// Users that exist before the listing and are deleted during it.
const CHURN: usize = 30;
/// The most users the inserting writer adds.
const MAX_INSERTS: usize = 150;

/// An email that sorts anywhere, so inserts land before and after the
/// listing's position in every order.
fn scattered_email() -> String {
    format!("{}@x.org", uuid::Uuid::new_v4().simple())
}

/// Runs the inserting and the deleting writer until `stop`; each counts its
/// writes into `writes`.
fn spawn_writers(
    client: &Client,
    stop: &Arc<AtomicBool>,
    writes: &Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (mut inserter, mut deleter) = (client.clone(), client.clone());
    let (stop_inserting, stop_deleting) = (stop.clone(), stop.clone());
    let (inserts, deletes) = (writes.clone(), writes.clone());
    let insert = tokio::spawn(async move {
        for n in 0..MAX_INSERTS {
            if stop_inserting.load(Ordering::Relaxed) {
                return;
            }
            create(&mut inserter, &format!("new{n}"), &scattered_email()).await;
            inserts.fetch_add(1, Ordering::Relaxed);
        }
    });
    let delete = tokio::spawn(async move {
        for n in 0..CHURN {
            if stop_deleting.load(Ordering::Relaxed) {
                return;
            }
            delete(&mut deleter, &format!("users/churn{n}"), "")
                .await
                .expect("deleted");
            deletes.fetch_add(1, Ordering::Relaxed);
        }
    });
    vec![insert, delete]
}

async fn list_while_writing(order_by: &str) {
    let server = Server::fresh().await;
    let mut client = server.client();
    let mut stable = HashSet::new();
    for n in 0..STABLE {
        stable.insert(
            create(&mut client, &format!("stable{n}"), &scattered_email())
                .await
                .name,
        );
        create(&mut client, &format!("churn{n}"), &scattered_email()).await;
    }
    let (stop, writes) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let writers = spawn_writers(&client, &stop, &writes);
    let mut request = ListUsersRequest {
        page_size: 3,
        order_by: order_by.to_owned(),
        ..ListUsersRequest::default()
    };
    let (mut seen, mut pages, mut changed_between_pages) = (Vec::new(), 0, 0);
    loop {
        let page = list(&mut client, request.clone()).await.expect("a page");
        pages += 1;
        seen.extend(page.users.into_iter().map(|user| user.name));
        if page.next_page_token.is_empty() || pages > 200 {
            break;
        }
        request.page_token = page.next_page_token;
        // Let the collection change before the next page (unless the
        // writers have nothing left to do).
        let before = writes.load(Ordering::Relaxed);
        let moved = |writes: Arc<AtomicUsize>| async move {
            let now = writes.load(Ordering::Relaxed);
            now > before || now == MAX_INSERTS + CHURN
        };
        assert!(
            eventually(BOUND, || moved(writes.clone())).await,
            "the writers make progress"
        );
        if writes.load(Ordering::Relaxed) > before {
            changed_between_pages += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        tokio::time::timeout(BOUND, writer)
            .await
            .expect("writers stop")
            .expect("no writer failed");
    }
    let mut unique = HashSet::new();
    let twice: Vec<_> = seen
        .iter()
        .filter(|name| !unique.insert(name.as_str()))
        .collect();
    assert!(twice.is_empty(), "{order_by:?}: listed twice: {twice:?}");
    let missing: Vec<_> = stable
        .iter()
        .filter(|name| !unique.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{order_by:?}: skipped though unchanged throughout: {missing:?}"
    );
    // Writes stop once the writers are done; by create time the listing
    // then still follows the inserts to the end.
    assert!(
        changed_between_pages >= 5,
        "{order_by:?}: only {changed_between_pages} of {pages} pages saw writes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_by_create_time_while_users_come_and_go_returns_each_once_and_skips_none() {
    list_while_writing("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_by_email_while_users_come_and_go_returns_each_once_and_skips_none() {
    list_while_writing("email").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_by_email_descending_while_users_come_and_go_returns_each_once_and_skips_none() {
    list_while_writing("email desc").await;
}
