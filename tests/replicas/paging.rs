//! Keyset paging across replicas while both write: each page is asked of
//! the other replica (tokens are valid on every replica), and the listing
//! still returns no user twice and every user that existed unchanged
//! throughout.
use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use user_service::proto::v1::ListUsersRequest;

use crate::{
    skipped,
    support::{create, delete, list},
    two_replicas,
};

/// Users that exist before the listing and are never touched.
const STABLE: usize = 30;
/// Users that exist before the listing and are deleted during it.
const CHURN: usize = 30;
/// The most users the inserting writer adds.
const MAX_INSERTS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_alternately_through_two_writing_replicas_skips_and_repeats_nothing() {
    let Some(replicas) = two_replicas().await else {
        return skipped("paging across replicas");
    };
    let mut setup = replicas[0].client();
    for n in 0..STABLE {
        create(&mut setup, &format!("stable{n}"), &format!("s{n}@x.org")).await;
    }
    for n in 0..CHURN {
        create(&mut setup, &format!("churn{n}"), &format!("c{n}@x.org")).await;
    }
    for order_by in ["", "email desc", "display_name"] {
        let stop = Arc::new(AtomicBool::new(false));
        let (mut inserter, mut deleter) = (replicas[0].client(), replicas[1].client());
        let (stop_inserting, stop_deleting) = (stop.clone(), stop.clone());
        let round = order_by.len();
        let insert = tokio::spawn(async move {
            for n in 0..MAX_INSERTS {
                if stop_inserting.load(Ordering::Relaxed) {
                    return;
                }
                let email = format!("{}@x.org", uuid::Uuid::new_v4().simple());
                create(&mut inserter, &format!("new{round}-{n}"), &email).await;
            }
        });
        let remove = tokio::spawn(async move {
            for n in 0..CHURN {
                if stop_deleting.load(Ordering::Relaxed) {
                    return;
                }
                // Deleted in an earlier round: already gone from listings.
                let _ = delete(&mut deleter, &format!("users/churn{n}"), "").await;
            }
        });
        let mut request = ListUsersRequest {
            page_size: 7,
            order_by: order_by.to_owned(),
            ..ListUsersRequest::default()
        };
        let mut names = Vec::new();
        for page in 0.. {
            assert!(page < 1000, "paging never ended");
            let mut client = replicas[page % 2].client();
            let answer = list(&mut client, request.clone()).await.expect("a page");
            names.extend(answer.users.into_iter().map(|user| user.name));
            if answer.next_page_token.is_empty() {
                break;
            }
            request.page_token = answer.next_page_token;
        }
        stop.store(true, Ordering::Relaxed);
        insert.await.expect("the inserter ran");
        remove.await.expect("the deleter ran");
        let unique: HashSet<&String> = names.iter().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "{order_by:?}: a user listed twice"
        );
        for n in 0..STABLE {
            let name = format!("users/stable{n}");
            assert!(unique.contains(&name), "{order_by:?}: {name} skipped");
        }
    }
}
