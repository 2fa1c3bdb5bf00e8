//! Soft delete and undelete: states, times, etags and the email they free
//! or need back.
use user_service::directory::{Micros, SoftDelete, State, StoreError};

use crate::backends::{backends, create, id, soft_delete, write};

#[tokio::test]
async fn a_delete_is_soft_and_records_its_times() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        let ann = create(store, "ann", "ann@x.org", 1).await;
        let delete = write(
            "ann",
            Some(&ann.etag),
            10,
            SoftDelete {
                purge_time: Micros(99),
            },
        );
        let deleted = store.delete(&delete).await.expect("deleted");
        assert_eq!(deleted.state, State::Deleted, "{}", backend.name);
        assert_eq!(deleted.delete_time, Some(Micros(10)));
        assert_eq!(deleted.purge_time, Some(Micros(99)));
        assert_eq!(deleted.update_time, Micros(10));
        assert_eq!(deleted.etag, delete.new_etag);
        assert_eq!(
            store.get(&id("ann")).await.expect("get"),
            Some(deleted),
            "{}",
            backend.name
        );
    }
}

#[tokio::test]
async fn a_delete_checks_the_etag_and_the_state() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        create(store, "ann", "ann@x.org", 1).await;
        let purge = SoftDelete {
            purge_time: Micros(99),
        };
        let stale = store
            .delete(&write("ann", Some("0000000000000000"), 2, purge))
            .await;
        assert!(
            matches!(stale, Err(StoreError::EtagMismatch)),
            "{}: {stale:?}",
            backend.name
        );
        assert_eq!(
            store.get(&id("ann")).await.expect("get").map(|u| u.state),
            Some(State::Active)
        );
        soft_delete(store, "ann", 3, 99).await;
        let again = store.delete(&write("ann", None, 4, purge)).await;
        assert!(
            matches!(again, Err(StoreError::Deleted)),
            "{}: {again:?}",
            backend.name
        );
        let missing = store.delete(&write("bob", None, 4, purge)).await;
        assert!(
            matches!(missing, Err(StoreError::NotFound)),
            "{}: {missing:?}",
            backend.name
        );
    }
}

#[tokio::test]
async fn an_undelete_restores_the_user_as_it_was() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        let ann = create(store, "ann", "ann@x.org", 1).await;
        let deleted = soft_delete(store, "ann", 2, 99).await;
        let stale = store.undelete(&write("ann", Some(&ann.etag), 3, ())).await;
        assert!(
            matches!(stale, Err(StoreError::EtagMismatch)),
            "{}: {stale:?}",
            backend.name
        );
        let undelete = write("ann", Some(&deleted.etag), 3, ());
        let restored = store.undelete(&undelete).await.expect("undeleted");
        assert_eq!(restored.state, State::Active, "{}", backend.name);
        assert_eq!((restored.delete_time, restored.purge_time), (None, None));
        assert_eq!(
            (restored.create_time, restored.update_time),
            (Micros(1), Micros(3))
        );
        assert_eq!((restored.uid, &restored.email), (ann.uid, &ann.email));
        assert_eq!(restored.etag, undelete.new_etag);
        let active = store.undelete(&write("ann", None, 4, ())).await;
        assert!(
            matches!(active, Err(StoreError::NotDeleted)),
            "{}: {active:?}",
            backend.name
        );
        let missing = store.undelete(&write("bob", None, 4, ())).await;
        assert!(
            matches!(missing, Err(StoreError::NotFound)),
            "{}: {missing:?}",
            backend.name
        );
    }
}

#[tokio::test]
async fn an_undelete_is_refused_when_the_email_was_taken_meanwhile() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        create(store, "ann", "ann@x.org", 1).await;
        let deleted = soft_delete(store, "ann", 2, 99).await;
        create(store, "bob", "ANN@X.org", 3).await;
        let taken = store.undelete(&write("ann", None, 4, ())).await;
        assert!(
            matches!(taken, Err(StoreError::EmailTaken)),
            "{}: {taken:?}",
            backend.name
        );
        assert_eq!(
            store.get(&id("ann")).await.expect("get"),
            Some(deleted),
            "{}",
            backend.name
        );
        // Once the new holder is deleted, the first one can come back.
        soft_delete(store, "bob", 5, 99).await;
        let back = store
            .undelete(&write("ann", None, 6, ()))
            .await
            .expect("undeleted");
        assert_eq!(back.state, State::Active, "{}", backend.name);
    }
}
