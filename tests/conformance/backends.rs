//! The backends the suite runs against, and the values tests build. Adding
//! an engine is one more entry in [`backends`]: a factory that hands out a
//! fresh, empty store per call.
use std::{future::Future, pin::Pin, sync::Arc};

use user_service::{
    directory::{
        Changes, DisplayName, Email, Filter, ListQuery, Micros, NewUser, Ordering, SoftDelete,
        User, UserId, UserStore, Write,
    },
    settings::StoreSettings,
};

/// What a factory returns: settings naming a fresh, empty store, and
/// whatever keeps it alive (a temporary directory, a database to drop).
pub(crate) type Fresh = (StoreSettings, Box<dyn Send>);
type Factory = fn() -> Pin<Box<dyn Future<Output = Fresh> + Send>>;

/// One engine under test.
pub(crate) struct Backend {
    pub(crate) name: &'static str,
    fresh: Factory,
}

#[path = "../common/postgres.rs"]
mod postgres;

/// Every engine the suite runs against: SQLite always, PostgreSQL when its
/// server binaries are installed (always in CI).
pub(crate) fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend {
        name: "sqlite",
        fresh: || Box::pin(sqlite()),
    }];
    if postgres::binaries().is_some() {
        backends.push(Backend {
            name: "postgresql",
            fresh: || Box::pin(postgresql()),
        });
    }
    backends
}

/// SQLite: a real file in a temporary directory of its own.
async fn sqlite() -> Fresh {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let settings = StoreSettings {
        url: format!("sqlite://{}/users.db", dir.path().display()),
        ..Default::default()
    };
    (settings, Box::new(dir))
}

/// PostgreSQL: a fresh database on the test binary's server.
async fn postgresql() -> Fresh {
    let server = postgres::PgServer::shared().expect("PostgreSQL is installed");
    let settings = server.store_settings(&server.fresh_database().await);
    (settings, Box::new(()))
}

/// An open store of one backend, which can be closed and opened again on
/// the same data.
pub(crate) struct Subject {
    pub(crate) backend: &'static str,
    pub(crate) store: Arc<dyn UserStore>,
    settings: StoreSettings,
    _keep: Box<dyn Send>,
}

impl Backend {
    /// A fresh, empty, migrated store.
    pub(crate) async fn open(&self) -> Subject {
        let (settings, keep) = (self.fresh)().await;
        let store = user_service::store::open(&settings)
            .await
            .unwrap_or_else(|err| panic!("{}: the store opens: {err:#}", self.name));
        Subject {
            backend: self.name,
            store,
            settings,
            _keep: keep,
        }
    }
}

impl Subject {
    /// Closes the store (drops the only handle) and opens the same data again.
    pub(crate) async fn reopen(&mut self) {
        let old = std::mem::replace(
            &mut self.store,
            user_service::store::open(&self.settings)
                .await
                .expect("the store opens again"),
        );
        assert_eq!(
            Arc::strong_count(&old),
            1,
            "{}: nothing else holds the store",
            self.backend
        );
    }

    /// Every user, deleted ones included, in id order.
    pub(crate) async fn all(&self) -> Vec<User> {
        let mut users = self
            .store
            .list(&query("", "", true, 1000))
            .await
            .expect("list");
        users.sort_by(|a, b| a.id.cmp(&b.id));
        users
    }
}

/// A user id from a test's literal.
pub(crate) fn id(id: &str) -> UserId {
    UserId::parse(id).expect("a valid id")
}

/// A user to create, at time `now`.
pub(crate) fn new_user(user_id: &str, email: &str, now: i64) -> NewUser {
    NewUser {
        id: id(user_id),
        uid: uuid::Uuid::new_v4(),
        email: Email::parse(email).expect("a valid email"),
        display_name: DisplayName::parse(&format!("Name of {user_id}")).expect("valid"),
        request_id: None,
        now: Micros(now),
        etag: user_service::directory::new_etag(),
    }
}

/// Creates a user that must not exist yet.
pub(crate) async fn create(store: &dyn UserStore, user_id: &str, email: &str, now: i64) -> User {
    let (user, created) = store
        .create(&new_user(user_id, email, now))
        .await
        .expect("the user is created");
    assert!(created);
    user
}

/// A write to `user_id`, checked against `etag` when given.
pub(crate) fn write<T>(user_id: &str, etag: Option<&str>, now: i64, what: T) -> Write<T> {
    Write {
        id: id(user_id),
        etag: etag.map(str::to_owned),
        now: Micros(now),
        new_etag: user_service::directory::new_etag(),
        what,
    }
}

/// Changes setting the email.
pub(crate) fn email_change(email: &str) -> Changes {
    Changes {
        email: Some(Email::parse(email).expect("a valid email")),
        display_name: None,
    }
}

/// Changes setting the display name.
pub(crate) fn rename(name: &str) -> Changes {
    Changes {
        email: None,
        display_name: Some(DisplayName::parse(name).expect("a valid display name")),
    }
}

/// Soft-deletes `user_id` (any etag) at `now`, purgeable at `purge_time`.
pub(crate) async fn soft_delete(
    store: &dyn UserStore,
    user_id: &str,
    now: i64,
    purge_time: i64,
) -> User {
    let purge = SoftDelete {
        purge_time: Micros(purge_time),
    };
    store
        .delete(&write(user_id, None, now, purge))
        .await
        .expect("the user is deleted")
}

/// A first-page query.
pub(crate) fn query(filter: &str, order_by: &str, show_deleted: bool, limit: u32) -> ListQuery {
    ListQuery {
        filter: Filter::parse(filter).expect("a valid filter"),
        ordering: Ordering::parse(order_by).expect("a valid order"),
        show_deleted,
        after: None,
        limit,
    }
}

/// Ids of `users`, in their order.
pub(crate) fn ids(users: &[User]) -> Vec<String> {
    users
        .iter()
        .map(|user| user.id.as_str().to_owned())
        .collect()
}
