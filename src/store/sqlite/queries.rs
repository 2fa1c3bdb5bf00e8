//! The statements of the store's transactions, and a listing's SQL.
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use super::rows::{classify, select_users, user_from};
use crate::directory::{NewUser, StoreError, User, UserId, Write, email_key};

/// The user `id` names.
pub(super) async fn select_user(
    tx: &mut Transaction<'static, Sqlite>,
    id: &UserId,
) -> Result<Option<User>, StoreError> {
    fetch_one_user(tx, select_users!("WHERE id = ?"), id.as_str().to_owned()).await
}

/// The user an earlier create with `request_id` made.
pub(super) async fn by_request_id(
    tx: &mut Transaction<'static, Sqlite>,
    request_id: &Uuid,
) -> Result<Option<User>, StoreError> {
    fetch_one_user(
        tx,
        select_users!("WHERE request_id = ?"),
        request_id.to_string(),
    )
    .await
}

async fn fetch_one_user(
    tx: &mut Transaction<'static, Sqlite>,
    sql: &'static str,
    key: String,
) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(sql)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
        .map_err(classify)?;
    row.as_ref().map(user_from).transpose()
}

/// True when a user other than `id` that is not deleted has `key`.
pub(super) async fn email_taken(
    tx: &mut Transaction<'static, Sqlite>,
    key: &str,
    id: &UserId,
) -> Result<bool, StoreError> {
    sqlx::query("SELECT 1 FROM users WHERE email_key = ? AND state = 1 AND id <> ?")
        .bind(key)
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map(|row| row.is_some())
        .map_err(classify)
}

/// Checks a create against what is stored; `Some` is the user an earlier
/// call with the same request id created.
pub(super) async fn check_new(
    tx: &mut Transaction<'static, Sqlite>,
    user: &NewUser,
) -> Result<Option<User>, StoreError> {
    if let Some(request_id) = &user.request_id
        && let Some(earlier) = by_request_id(tx, request_id).await?
    {
        return Ok(Some(earlier));
    }
    if select_user(tx, &user.id).await?.is_some() {
        return Err(StoreError::UserIdTaken);
    }
    if email_taken(tx, &user.email.key(), &user.id).await? {
        return Err(StoreError::EmailTaken);
    }
    Ok(None)
}

/// Loads the user a write names and checks its etag.
pub(super) async fn load_for_write<T>(
    tx: &mut Transaction<'static, Sqlite>,
    write: &Write<T>,
) -> Result<User, StoreError> {
    let user = select_user(tx, &write.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    match &write.etag {
        Some(etag) if *etag != user.etag => Err(StoreError::EtagMismatch),
        _ => Ok(user),
    }
}

pub(super) async fn save(
    tx: &mut Transaction<'static, Sqlite>,
    user: &User,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET email = ?, email_key = ?, display_name = ?, state = ?, update_time = ?, \
         delete_time = ?, purge_time = ?, etag = ? WHERE id = ?",
    )
    .bind(&user.email)
    .bind(email_key(&user.email))
    .bind(&user.display_name)
    .bind(user.state.code())
    .bind(user.update_time.0)
    .bind(user.delete_time.map(|time| time.0))
    .bind(user.purge_time.map(|time| time.0))
    .bind(&user.etag)
    .bind(user.id.as_str())
    .execute(&mut **tx)
    .await
    .map_err(classify)?;
    Ok(())
}

pub(super) async fn commit(tx: Transaction<'static, Sqlite>) -> Result<(), StoreError> {
    tx.commit().await.map_err(classify)
}
