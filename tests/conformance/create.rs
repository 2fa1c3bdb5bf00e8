//! Creating users: what is stored, what is taken, idempotency by request id,
//! and checks that write nothing.
use user_service::directory::{Micros, State, StoreError};

use crate::backends::{backends, create, id, new_user, soft_delete};

#[tokio::test]
async fn a_created_user_reads_back_as_given() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        let new = new_user("ann", "Ann@Example.org", 1_000);
        let (created, inserted) = store.create(&new).await.expect("created");
        assert!(inserted, "{}", backend.name);
        assert_eq!(created.id, new.id);
        assert_eq!(created.uid, new.uid);
        assert_eq!(
            created.email, "Ann@Example.org",
            "{}: stored as given",
            backend.name
        );
        assert_eq!(created.display_name, "Name of ann");
        assert_eq!(created.state, State::Active);
        assert_eq!(
            (created.create_time, created.update_time),
            (Micros(1_000), Micros(1_000))
        );
        assert_eq!((created.delete_time, created.purge_time), (None, None));
        assert_eq!(created.etag, new.etag);
        let read = store.get(&id("ann")).await.expect("get");
        assert_eq!(read.as_ref(), Some(&created), "{}", backend.name);
        assert_eq!(
            store.get(&id("bob")).await.expect("get"),
            None,
            "{}",
            backend.name
        );
    }
}

#[tokio::test]
async fn a_taken_user_id_is_refused_whatever_its_state() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        create(store, "ann", "ann@x.org", 1).await;
        let again = store.create(&new_user("ann", "other@x.org", 2)).await;
        assert!(
            matches!(again, Err(StoreError::UserIdTaken)),
            "{}: {again:?}",
            backend.name
        );
        soft_delete(store, "ann", 3, 1_000).await;
        let deleted = store.create(&new_user("ann", "other@x.org", 4)).await;
        assert!(
            matches!(deleted, Err(StoreError::UserIdTaken)),
            "{}: {deleted:?}",
            backend.name
        );
        assert_eq!(subject.all().await.len(), 1);
    }
}

#[tokio::test]
async fn an_email_is_taken_case_insensitively_until_its_user_is_deleted() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        create(store, "ann", "Ann@Example.org", 1).await;
        for email in ["ann@example.org", "ANN@EXAMPLE.ORG", "Ann@Example.org"] {
            let taken = store.create(&new_user("bob", email, 2)).await;
            assert!(
                matches!(taken, Err(StoreError::EmailTaken)),
                "{}: {email}: {taken:?}",
                backend.name
            );
            let checked = store.check_create(&new_user("bob", email, 2)).await;
            assert!(
                matches!(checked, Err(StoreError::EmailTaken)),
                "{}: {checked:?}",
                backend.name
            );
        }
        soft_delete(store, "ann", 3, 1_000).await;
        let bob = create(store, "bob", "ANN@example.org", 4).await;
        assert_eq!(bob.email, "ANN@example.org");
        // A second deleted holder does not block it either.
        soft_delete(store, "bob", 5, 1_000).await;
        create(store, "cid", "ann@EXAMPLE.org", 6).await;
        assert_eq!(subject.all().await.len(), 3, "{}", backend.name);
    }
}

#[tokio::test]
async fn the_same_request_id_returns_the_first_user_and_writes_nothing_new() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        let request_id = uuid::Uuid::new_v4();
        let mut first = new_user("ann", "ann@x.org", 1);
        first.request_id = Some(request_id);
        let (created, inserted) = store.create(&first).await.expect("created");
        assert!(inserted);
        // The answer was lost: the client sends the very same request again.
        let (again, inserted) = store.create(&first).await.expect("the same answer");
        assert!(
            !inserted,
            "{}: nothing is written the second time",
            backend.name
        );
        assert_eq!(again, created);
        // Even a retry whose other values changed gets the first user back.
        let mut changed = new_user("bob", "bob@x.org", 2);
        changed.request_id = Some(request_id);
        let (earlier, inserted) = store.create(&changed).await.expect("the first user");
        assert!(!inserted);
        assert_eq!(earlier, created, "{}", backend.name);
        let checked = store.check_create(&changed).await.expect("checked");
        assert_eq!(checked, Some(created), "{}", backend.name);
        assert_eq!(
            subject.all().await.len(),
            1,
            "{}: never a second user",
            backend.name
        );
        assert_eq!(store.get(&id("bob")).await.expect("get"), None);
    }
}

#[tokio::test]
async fn check_create_detects_conflicts_and_writes_nothing() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        let mut new = new_user("ann", "ann@x.org", 1);
        new.request_id = Some(uuid::Uuid::new_v4());
        assert_eq!(store.check_create(&new).await.expect("would succeed"), None);
        assert!(
            subject.all().await.is_empty(),
            "{}: nothing written",
            backend.name
        );
        // The request id was not used up either: the real create inserts.
        let (_, inserted) = store.create(&new).await.expect("created");
        assert!(inserted, "{}", backend.name);
        let id_taken = store.check_create(&new_user("ann", "new@x.org", 2)).await;
        assert!(
            matches!(id_taken, Err(StoreError::UserIdTaken)),
            "{}: {id_taken:?}",
            backend.name
        );
        let email_taken = store.check_create(&new_user("bob", "ANN@x.org", 2)).await;
        assert!(
            matches!(email_taken, Err(StoreError::EmailTaken)),
            "{}: {email_taken:?}",
            backend.name
        );
        assert_eq!(subject.all().await.len(), 1);
    }
}
