//! The store interface: what the directory needs from a database. One trait,
//! one implementation per engine (`crate::store`), one conformance suite.
use std::fmt;

use uuid::Uuid;

use super::{
    model::{DisplayName, Email, Micros, State, User, UserId},
    query::ListQuery,
};

/// A user to create, complete with what the server assigns.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Its id.
    pub id: UserId,
    /// Its never-reused uid.
    pub uid: Uuid,
    /// Its email.
    pub email: Email,
    /// Its display name.
    pub display_name: DisplayName,
    /// The client's idempotency key (AIP-155), when it sent one.
    pub request_id: Option<Uuid>,
    /// Creation time.
    pub now: Micros,
    /// Its first etag.
    pub etag: String,
}

impl NewUser {
    /// The user as it is once created.
    pub fn to_user(&self) -> User {
        User {
            id: self.id.clone(),
            uid: self.uid,
            email: self.email.as_str().to_owned(),
            display_name: self.display_name.as_str().to_owned(),
            state: State::Active,
            create_time: self.now,
            update_time: self.now,
            delete_time: None,
            purge_time: None,
            etag: self.etag.clone(),
        }
    }
}

/// The fields an update writes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// A new email.
    pub email: Option<Email>,
    /// A new display name.
    pub display_name: Option<DisplayName>,
}

impl Changes {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.display_name.is_none()
    }
}

/// A conditional write to one user: when `etag` is set, it must be the
/// stored one.
#[derive(Debug, Clone)]
pub struct Write<T> {
    /// The user written.
    pub id: UserId,
    /// The etag the client holds, when it sent one.
    pub etag: Option<String>,
    /// The time of the write.
    pub now: Micros,
    /// The etag the user gets.
    pub new_etag: String,
    /// What the write does.
    pub what: T,
}

/// A soft delete: the user is purged at `purge_time`.
#[derive(Debug, Clone, Copy)]
pub struct SoftDelete {
    /// When the sweep removes it for good.
    pub purge_time: Micros,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such user.
    #[error("user not found")]
    NotFound,
    /// The user id is taken (by a user in any state).
    #[error("user id taken")]
    UserIdTaken,
    /// The email belongs to another user that is not deleted.
    #[error("email taken")]
    EmailTaken,
    /// The client's etag is not the stored one.
    #[error("etag mismatch")]
    EtagMismatch,
    /// The user is deleted and the operation needs an active one.
    #[error("user is deleted")]
    Deleted,
    /// Undelete of a user that is not deleted.
    #[error("user is not deleted")]
    NotDeleted,
    /// The store cannot be reached or timed out; retrying may succeed.
    #[error("store unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// The store is out of space.
    #[error("store full: {0:#}")]
    Full(anyhow::Error),
    /// A concurrent transaction won; retrying may succeed.
    #[error("store conflict: {0:#}")]
    Conflict(anyhow::Error),
    /// Anything else: a bug or corrupt data.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl StoreError {
    /// The `error.type` a span of the failed operation carries: the
    /// variant's name, never its message (which may hold values).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::UserIdTaken => "user_id_taken",
            Self::EmailTaken => "email_taken",
            Self::EtagMismatch => "etag_mismatch",
            Self::Deleted => "deleted",
            Self::NotDeleted => "not_deleted",
            Self::Unavailable(_) => "unavailable",
            Self::Full(_) => "full",
            Self::Conflict(_) => "conflict",
            Self::Unexpected(_) => "unexpected",
        }
    }

    /// True for failures of the store itself, as opposed to answers about
    /// the data (not found, taken, …).
    pub fn is_store_failure(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_) | Self::Full(_) | Self::Conflict(_) | Self::Unexpected(_)
        )
    }
}

/// How a store names itself in spans (OpenTelemetry database conventions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// `db.system.name`: `sqlite` or `postgresql`.
    pub system: &'static str,
    /// `db.namespace`: the database file or name.
    pub namespace: String,
    /// `server.address` and `server.port`, for a networked store.
    pub server: Option<(String, u16)>,
}

/// Connections of a store's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolUsage {
    /// Open and idle.
    pub idle: u64,
    /// Open and in use.
    pub used: u64,
    /// The most the pool opens.
    pub max: u64,
}

/// A directory store. Every method is one transaction; a write either
/// happens whole and durably before it returns Ok, or not at all.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync + fmt::Debug + 'static {
    /// Inserts a user. With a `request_id` already used, returns the user
    /// that request created instead (flagged `false`: nothing was written).
    async fn create(&self, user: &NewUser) -> Result<(User, bool), StoreError>;

    /// Checks that `create` could succeed, writing nothing; returns the
    /// user an earlier call with the same `request_id` created, if any.
    async fn check_create(&self, user: &NewUser) -> Result<Option<User>, StoreError>;

    /// A user in any state.
    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError>;

    /// One page of users: at most `query.limit`, after `query.after`.
    async fn list(&self, query: &ListQuery) -> Result<Vec<User>, StoreError>;

    /// Applies `changes` to an active user (nothing changes when empty: the
    /// stored user is returned as it is).
    async fn update(&self, write: &Write<Changes>) -> Result<User, StoreError>;

    /// Soft-deletes an active user.
    async fn delete(&self, write: &Write<SoftDelete>) -> Result<User, StoreError>;

    /// Restores a deleted user.
    async fn undelete(&self, write: &Write<()>) -> Result<User, StoreError>;

    /// Removes at most `limit` deleted users whose purge time is before
    /// `now`; returns how many went.
    async fn purge(&self, now: Micros, limit: u32) -> Result<u64, StoreError>;

    /// Answers when the store can serve (health checks).
    async fn ping(&self) -> Result<(), StoreError>;

    /// A random secret kept in the store, made on first use: it signs page
    /// tokens when no secret is configured, so tokens stay valid across
    /// restarts and replicas that share the store.
    async fn shared_secret(&self) -> Result<Vec<u8>, StoreError>;

    /// How the store names itself in telemetry.
    fn info(&self) -> &StoreInfo;

    /// The pool's connections now.
    fn pool_usage(&self) -> PoolUsage;
}
