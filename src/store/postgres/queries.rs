//! The statements of the store's operations, and a listing's SQL.
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::rows::{classify, select_users, state_code, user_from, write_error};
use crate::directory::{NewUser, StoreError, User, UserId, Write, email_key};

/// The user `id` names.
pub(super) async fn select_user<'c>(
    db: impl PgExecutor<'c>,
    id: &UserId,
) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(select_users!("WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(db)
        .await
        .map_err(classify)?;
    row.as_ref().map(user_from).transpose()
}

/// The user an earlier create with `request_id` made.
pub(super) async fn by_request_id<'c>(
    db: impl PgExecutor<'c>,
    request_id: &Uuid,
) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(select_users!("WHERE request_id = $1"))
        .bind(request_id)
        .fetch_optional(db)
        .await
        .map_err(classify)?;
    row.as_ref().map(user_from).transpose()
}

/// Inserts a new, active user; a taken id or email is refused by the
/// unique indexes (the error says which).
pub(super) async fn insert<'c>(db: impl PgExecutor<'c>, user: &NewUser) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, uid, email, email_key, display_name, state, create_time, \
         update_time, etag, request_id) VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7, $8)",
    )
    .bind(user.id.as_str())
    .bind(user.uid)
    .bind(user.email.as_str())
    .bind(user.email.key())
    .bind(user.display_name.as_str())
    .bind(user.now.0)
    .bind(&user.etag)
    .bind(user.request_id)
    .execute(db)
    .await
    .map(drop)
}

/// True when a user other than `id` that is not deleted has `key`.
pub(super) async fn email_taken<'c>(
    db: impl PgExecutor<'c>,
    key: &str,
    id: &UserId,
) -> Result<bool, StoreError> {
    sqlx::query("SELECT 1 FROM users WHERE email_key = $1 AND state = 1 AND id <> $2")
        .bind(key)
        .bind(id.as_str())
        .fetch_optional(db)
        .await
        .map(|row| row.is_some())
        .map_err(classify)
}

/// Loads the user a write names, locking its row until the transaction
/// ends (so the etag checked is the etag replaced), and checks its etag.
pub(super) async fn load_for_write<T>(
    tx: &mut PgConnection,
    write: &Write<T>,
) -> Result<User, StoreError> {
    let row = sqlx::query(select_users!("WHERE id = $1 FOR UPDATE"))
        .bind(write.id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
    let user = row
        .as_ref()
        .map(user_from)
        .transpose()?
        .ok_or(StoreError::NotFound)?;
    match &write.etag {
        Some(etag) if *etag != user.etag => Err(StoreError::EtagMismatch),
        _ => Ok(user),
    }
}

/// Writes every mutable column of `user` back.
pub(super) async fn save(tx: &mut PgConnection, user: &User) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET email = $1, email_key = $2, display_name = $3, state = $4, \
         update_time = $5, delete_time = $6, purge_time = $7, etag = $8 WHERE id = $9",
    )
    .bind(&user.email)
    .bind(email_key(&user.email))
    .bind(&user.display_name)
    .bind(state_code(user.state))
    .bind(user.update_time.0)
    .bind(user.delete_time.map(|time| time.0))
    .bind(user.purge_time.map(|time| time.0))
    .bind(&user.etag)
    .bind(user.id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(write_error)?;
    Ok(())
}
