//! What outlives the store being closed and opened again: users in every
//! state and the shared page-token secret.
use crate::backends::{backends, create, new_user, rename, soft_delete, write};

#[tokio::test]
async fn users_survive_closing_and_reopening_the_store() {
    for backend in backends() {
        let mut subject = backend.open().await;
        let store = subject.store.clone();
        create(store.as_ref(), "ann", "ann@x.org", 1).await;
        create(store.as_ref(), "bob", "bob@x.org", 2).await;
        store
            .update(&write("ann", None, 3, rename("Ann Z")))
            .await
            .expect("updated");
        soft_delete(store.as_ref(), "bob", 4, 1_000).await;
        let before = subject.all().await;
        drop(store);
        subject.reopen().await;
        assert_eq!(subject.all().await, before, "{}", backend.name);
        // And it is still writable, with its rules intact.
        let taken = subject.store.create(&new_user("cid", "ANN@x.org", 5)).await;
        assert!(taken.is_err(), "{}: the email is still taken", backend.name);
        create(subject.store.as_ref(), "cid", "bob@x.org", 5).await;
    }
}

#[tokio::test]
async fn the_shared_secret_is_stable_across_calls_and_reopening() {
    for backend in backends() {
        let mut subject = backend.open().await;
        let first = subject.store.shared_secret().await.expect("a secret");
        assert!(
            first.len() >= 16,
            "{}: a secret worth its name",
            backend.name
        );
        assert_eq!(subject.store.shared_secret().await.expect("again"), first);
        subject.reopen().await;
        assert_eq!(
            subject.store.shared_secret().await.expect("reopened"),
            first,
            "{}",
            backend.name
        );
        let other = backend.open().await;
        let foreign = other.store.shared_secret().await.expect("another store's");
        assert_ne!(foreign, first, "{}: each store makes its own", backend.name);
    }
}
