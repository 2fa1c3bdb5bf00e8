//! Updates: conditional on the etag, refused on deleted users, and keeping
//! emails unique.
use user_service::directory::{Changes, Micros, StoreError};

use crate::backends::{backends, create, email_change, id, rename, soft_delete, write};

#[tokio::test]
async fn an_update_with_the_current_etag_writes_and_changes_the_etag() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        let ann = create(store, "ann", "ann@x.org", 1).await;
        let update = write("ann", Some(&ann.etag), 5, rename("Ann B"));
        let updated = store.update(&update).await.expect("updated");
        assert_eq!(updated.display_name, "Ann B", "{}", backend.name);
        assert_eq!(updated.etag, update.new_etag);
        assert_eq!(
            (updated.create_time, updated.update_time),
            (Micros(1), Micros(5))
        );
        assert_eq!(
            updated.email, "ann@x.org",
            "{}: untouched fields stay",
            backend.name
        );
        assert_eq!(store.get(&id("ann")).await.expect("get"), Some(updated));
    }
}

#[tokio::test]
async fn an_update_with_a_stale_etag_is_an_etag_mismatch_and_writes_nothing() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        let ann = create(store, "ann", "ann@x.org", 1).await;
        store
            .update(&write("ann", Some(&ann.etag), 2, rename("First")))
            .await
            .expect("first");
        let stale = store
            .update(&write("ann", Some(&ann.etag), 3, rename("Second")))
            .await;
        assert!(
            matches!(stale, Err(StoreError::EtagMismatch)),
            "{}: {stale:?}",
            backend.name
        );
        let stored = store.get(&id("ann")).await.expect("get").expect("there");
        assert_eq!(stored.display_name, "First", "{}", backend.name);
        // No etag: no check.
        let blind = store
            .update(&write("ann", None, 4, rename("Third")))
            .await
            .expect("blind");
        assert_eq!(blind.display_name, "Third");
    }
}

#[tokio::test]
async fn an_update_of_a_deleted_user_is_refused_after_the_etag_check() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        create(store, "ann", "ann@x.org", 1).await;
        let deleted = soft_delete(store, "ann", 2, 100).await;
        let refused = store
            .update(&write("ann", Some(&deleted.etag), 3, rename("X")))
            .await;
        assert!(
            matches!(refused, Err(StoreError::Deleted)),
            "{}: {refused:?}",
            backend.name
        );
        let stale = store
            .update(&write("ann", Some("0000000000000000"), 3, rename("X")))
            .await;
        assert!(
            matches!(stale, Err(StoreError::EtagMismatch)),
            "{}: {stale:?}",
            backend.name
        );
        let missing = store.update(&write("bob", None, 3, rename("X"))).await;
        assert!(
            matches!(missing, Err(StoreError::NotFound)),
            "{}: {missing:?}",
            backend.name
        );
        assert_eq!(store.get(&id("ann")).await.expect("get"), Some(deleted));
    }
}

#[tokio::test]
async fn an_email_change_to_a_taken_email_is_refused() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        create(store, "ann", "ann@x.org", 1).await;
        let bob = create(store, "bob", "bob@x.org", 2).await;
        let taken = store
            .update(&write("bob", None, 3, email_change("ANN@x.org")))
            .await;
        assert!(
            matches!(taken, Err(StoreError::EmailTaken)),
            "{}: {taken:?}",
            backend.name
        );
        assert_eq!(store.get(&id("bob")).await.expect("get"), Some(bob));
        // Its own address in another case is no conflict.
        let recased = store
            .update(&write("bob", None, 4, email_change("Bob@X.org")))
            .await;
        assert_eq!(
            recased.expect("own email").email,
            "Bob@X.org",
            "{}",
            backend.name
        );
        // A deleted user's address is free.
        soft_delete(store, "ann", 5, 100).await;
        let freed = store
            .update(&write("bob", None, 6, email_change("ann@X.ORG")))
            .await;
        assert_eq!(freed.expect("freed").email, "ann@X.ORG", "{}", backend.name);
    }
}

#[tokio::test]
async fn an_empty_update_returns_the_stored_user_unchanged() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        let ann = create(store, "ann", "ann@x.org", 1).await;
        let same = store
            .update(&write("ann", Some(&ann.etag), 9, Changes::default()))
            .await
            .expect("nothing to do");
        assert_eq!(
            same, ann,
            "{}: not even the etag or update_time moves",
            backend.name
        );
    }
}
