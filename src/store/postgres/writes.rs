//! The writes: each one transaction (or one statement), run again a few
//! times when it loses to a concurrent transaction.
use std::{future::Future, time::Duration};

use sqlx::{Connection, Postgres, Transaction};

use super::{
    pool::{Conn, Pool},
    queries::{by_request_id, email_taken, insert, load_for_write, save},
    rows::{classify, is_unique_violation, write_error},
};
use crate::directory::{Changes, NewUser, SoftDelete, StoreError, User, Write, email_key};

/// Runs of a transaction that lost to a concurrent one (serialization
/// failure, deadlock) before the call is answered ABORTED.
const ATTEMPTS: u32 = 3;
/// The pause before running such a transaction again, times the attempt.
const RETRY_PAUSE: Duration = Duration::from_millis(5);

/// Runs `operation` again while it loses to concurrent transactions, at
/// most [`ATTEMPTS`] times; the last conflict is the answer (ABORTED).
pub(super) async fn retried<T, F, Fut>(mut operation: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(StoreError::Conflict(_)) if attempt < ATTEMPTS => {
                tokio::time::sleep(RETRY_PAUSE * attempt).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

async fn acquire(pool: &Pool) -> Result<Conn, StoreError> {
    pool.acquire().await.map_err(classify)
}

async fn begin(conn: &mut Conn) -> Result<Transaction<'_, Postgres>, StoreError> {
    conn.begin().await.map_err(classify)
}

/// Creates once (see the trait for what it does).
pub(super) async fn create(pool: &Pool, user: &NewUser) -> Result<(User, bool), StoreError> {
    let mut conn = acquire(pool).await?;
    if let Some(request_id) = &user.request_id
        && let Some(earlier) = by_request_id(&mut *conn, request_id).await?
    {
        conn.release();
        return Ok((earlier, false));
    }
    let Err(err) = insert(&mut *conn, user).await else {
        conn.release();
        return Ok((user.to_user(), true));
    };
    // The same request sent twice at once: the second insert waits for
    // the first and then hits its id, email or request id; it answers
    // what the first created.
    if is_unique_violation(&err)
        && let Some(request_id) = &user.request_id
        && let Some(earlier) = by_request_id(&mut *conn, request_id).await?
    {
        conn.release();
        return Ok((earlier, false));
    }
    Err(write_error(err))
}

/// Updates once (see the trait for what it does).
pub(super) async fn update(pool: &Pool, write: &Write<Changes>) -> Result<User, StoreError> {
    let mut conn = acquire(pool).await?;
    let mut tx = begin(&mut conn).await?;
    let mut user = load_for_write(&mut tx, write).await?;
    write.check(&user)?;
    if write.what.is_empty() {
        return Ok(user);
    }
    if let Some(key) = write.new_email_key(&user)
        && email_taken(&mut *tx, &key, &user.id).await?
    {
        return Err(StoreError::EmailTaken);
    }
    write.apply(&mut user);
    save(&mut tx, &user).await?;
    tx.commit().await.map_err(classify)?;
    conn.release();
    Ok(user)
}

/// Deletes once (see the trait for what it does).
pub(super) async fn delete(pool: &Pool, write: &Write<SoftDelete>) -> Result<User, StoreError> {
    let mut conn = acquire(pool).await?;
    let mut tx = begin(&mut conn).await?;
    let mut user = load_for_write(&mut tx, write).await?;
    write.apply(&mut user)?;
    save(&mut tx, &user).await?;
    tx.commit().await.map_err(classify)?;
    conn.release();
    Ok(user)
}

/// Undeletes once (see the trait for what it does).
pub(super) async fn undelete(pool: &Pool, write: &Write<()>) -> Result<User, StoreError> {
    let mut conn = acquire(pool).await?;
    let mut tx = begin(&mut conn).await?;
    let mut user = load_for_write(&mut tx, write).await?;
    write.check(&user)?;
    if email_taken(&mut *tx, &email_key(&user.email), &user.id).await? {
        return Err(StoreError::EmailTaken);
    }
    write.apply(&mut user);
    save(&mut tx, &user).await?;
    tx.commit().await.map_err(classify)?;
    conn.release();
    Ok(user)
}
