//! Listings: filters, every order in both directions, deleted users only on
//! request, and keyset cursors that stay exact across ties at page edges.
use user_service::directory::{Cursor, ListQuery, Ordering, SortField, User, UserStore, email_key};

use crate::backends::{Subject, backends, create, ids, query, rename, soft_delete, write};

/// Users whose create times, email keys and display names tie in places,
/// two of them deleted (one sharing its email key with an active user).
async fn seed(subject: &Subject) {
    let store = subject.store.as_ref();
    for (user_id, email, time) in [
        ("a1", "Zed@x.org", 100),
        ("a2", "amy@x.org", 100),
        ("b1", "bob@x.org", 100),
        ("b2", "Cat@x.org", 200),
        ("c1", "dan@x.org", 200),
        ("d1", "eve@x.org", 50),
    ] {
        create(store, user_id, email, time).await;
    }
    soft_delete(store, "c1", 400, 10_000).await;
    soft_delete(store, "d1", 400, 10_000).await;
    create(store, "c2", "DAN@x.org", 300).await;
    create(store, "d2", "amy2@x.org", 300).await;
    // Display names that tie too (the seeded ones are all distinct).
    for (user_id, name) in [
        ("a1", "Same"),
        ("a2", "Same"),
        ("b1", "Other"),
        ("b2", "Same"),
        ("c2", "Same"),
        ("d2", "Other"),
    ] {
        store
            .update(&write(user_id, None, 500, rename(name)))
            .await
            .expect("renamed");
    }
}

/// The order the contract promises: by key, ties by id, both reversed when
/// descending.
fn expected(mut users: Vec<User>, ordering: Ordering) -> Vec<String> {
    users.sort_by(|a, b| {
        let by_key = match ordering.field {
            SortField::CreateTime => a.create_time.cmp(&b.create_time),
            SortField::Email => email_key(&a.email).cmp(&email_key(&b.email)),
            SortField::DisplayName => a.display_name.cmp(&b.display_name),
        };
        by_key.then_with(|| a.id.cmp(&b.id))
    });
    if ordering.descending {
        users.reverse();
    }
    ids(&users)
}

/// Every page of `first`, `first.limit` at a time, following cursors.
async fn page_through(store: &dyn UserStore, first: ListQuery) -> Vec<String> {
    let mut query = first;
    let mut seen = Vec::new();
    for _ in 0..100 {
        let page = store.list(&query).await.expect("a page");
        assert!(page.len() <= query.limit as usize);
        seen.extend(ids(&page));
        match page.last() {
            Some(last) if page.len() == query.limit as usize => {
                query.after = Some(Cursor::after(last, query.ordering));
            }
            _ => return seen,
        }
    }
    panic!("paging never ended: {seen:?}");
}

#[tokio::test]
async fn every_order_pages_exactly_in_both_directions_across_ties() {
    for backend in backends() {
        let subject = backend.open().await;
        seed(&subject).await;
        let all = subject.all().await;
        let active: Vec<User> = all
            .iter()
            .filter(|u| u.delete_time.is_none())
            .cloned()
            .collect();
        for order_by in ["create_time", "email", "display_name"] {
            for direction in ["asc", "desc"] {
                let order_by = format!("{order_by} {direction}");
                for (show_deleted, users) in [(false, &active), (true, &all)] {
                    let ordering = Ordering::parse(&order_by).expect("order");
                    let want = expected(users.clone(), ordering);
                    for limit in [1, 2, 3, 1000] {
                        let got = page_through(
                            subject.store.as_ref(),
                            query("", &order_by, show_deleted, limit),
                        )
                        .await;
                        assert_eq!(
                            got, want,
                            "{}: {order_by}, show_deleted {show_deleted}, pages of {limit}",
                            backend.name
                        );
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn filters_select_by_email_display_name_and_state() {
    for backend in backends() {
        let subject = backend.open().await;
        seed(&subject).await;
        let store = subject.store.as_ref();
        let list = |filter: &'static str, show_deleted| async move {
            ids(&store
                .list(&query(filter, "", show_deleted, 100))
                .await
                .expect("list"))
        };
        assert_eq!(
            list(r#"email = "Dan@X.org""#, false).await,
            ["c2"],
            "{}",
            backend.name
        );
        assert_eq!(
            list(r#"email = "dan@x.org""#, true).await,
            ["c1", "c2"],
            "{}",
            backend.name
        );
        assert_eq!(
            list(r#"display_name = "Same""#, false).await,
            ["a1", "a2", "b2", "c2"]
        );
        assert!(
            list(r#"display_name = "same""#, false).await.is_empty(),
            "display names match exactly"
        );
        assert_eq!(
            list(r#"display_name = "Other" AND email = "AMY2@x.org""#, false).await,
            ["d2"]
        );
        assert_eq!(
            list("state = ACTIVE", true).await,
            ["a1", "a2", "b1", "b2", "c2", "d2"]
        );
        assert!(
            list("state = DELETED", false).await.is_empty(),
            "{}: deleted needs show_deleted",
            backend.name
        );
        assert_eq!(
            list("state = DELETED", true).await,
            ["d1", "c1"],
            "{}: by create time",
            backend.name
        );
        let filtered = page_through(
            store,
            query(r#"display_name = "Same""#, "email desc", false, 1),
        )
        .await;
        assert_eq!(
            filtered,
            ["a1", "c2", "b2", "a2"],
            "{}: filter and cursor together",
            backend.name
        );
    }
}

#[tokio::test]
async fn an_empty_store_lists_nothing() {
    for backend in backends() {
        let subject = backend.open().await;
        let users = subject
            .store
            .list(&query("", "", true, 10))
            .await
            .expect("list");
        assert!(users.is_empty(), "{}", backend.name);
    }
}
