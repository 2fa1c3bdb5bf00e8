//! The purge: only deleted users past their purge time go, at most `limit`
//! per call.
use user_service::directory::Micros;

use crate::backends::{backends, create, ids, soft_delete};

#[tokio::test]
async fn purge_removes_only_deleted_users_past_their_purge_time() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        for (user_id, email) in [
            ("due", "due@x.org"),
            ("later", "later@x.org"),
            ("alive", "alive@x.org"),
            ("edge", "edge@x.org"),
        ] {
            create(store, user_id, email, 1).await;
        }
        soft_delete(store, "due", 2, 100).await;
        soft_delete(store, "edge", 2, 500).await;
        soft_delete(store, "later", 2, 10_000).await;
        assert_eq!(
            store.purge(Micros(499), 100).await.expect("purge"),
            1,
            "{}",
            backend.name
        );
        assert_eq!(
            ids(&subject.all().await),
            ["alive", "edge", "later"],
            "{}",
            backend.name
        );
        assert_eq!(
            store.purge(Micros(500), 100).await.expect("purge"),
            1,
            "{}: due at its purge time",
            backend.name
        );
        assert_eq!(
            ids(&subject.all().await),
            ["alive", "later"],
            "{}",
            backend.name
        );
        // Far in the future: still only deleted users.
        assert_eq!(store.purge(Micros(i64::MAX), 100).await.expect("purge"), 1);
        assert_eq!(ids(&subject.all().await), ["alive"], "{}", backend.name);
        // A purged id and email can be used again.
        create(store, "due", "due@x.org", 3).await;
    }
}

#[tokio::test]
async fn purge_works_in_batches_of_the_limit() {
    for backend in backends() {
        let subject = backend.open().await;
        let store = subject.store.as_ref();
        for n in 0..5 {
            let user_id = format!("u{n}");
            create(store, &user_id, &format!("{user_id}@x.org"), 1).await;
            soft_delete(store, &user_id, 2, 10).await;
        }
        create(store, "keep", "keep@x.org", 1).await;
        let mut batches = Vec::new();
        for _ in 0..5 {
            batches.push(store.purge(Micros(20), 2).await.expect("purge"));
        }
        assert_eq!(batches, [2, 2, 1, 0, 0], "{}", backend.name);
        assert_eq!(ids(&subject.all().await), ["keep"], "{}", backend.name);
    }
}
