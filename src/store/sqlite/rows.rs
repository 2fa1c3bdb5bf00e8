//! Rows and errors: a stored user read back, and driver errors mapped to
//! what a caller can act on.
use anyhow::Context;
use sqlx::{Row, sqlite::SqliteRow};
use uuid::Uuid;

use crate::directory::{Micros, State, StoreError, User, UserId};

/// `SELECT` of every column a user is read from (in the order [`user_from`]
/// reads them), `FROM users`: the start of
/// every query that reads users, as a literal so each statement is one
/// static string (prepared once, never formatted per call).
macro_rules! select_users {
    ($($rest:literal)?) => {
        concat!(
            "SELECT id, uid, email, display_name, state, create_time, update_time, \
             delete_time, purge_time, etag FROM users"
            $(, " ", $rest)?
        )
    };
}
pub(super) use select_users;

/// Maps a driver error to what callers can act on: retry (unavailable),
/// free space (full), or a bug (unexpected).
pub(super) fn classify(err: sqlx::Error) -> StoreError {
    let primary = match &err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .map(|code| code & 0xff),
        _ => None,
    };
    match (&err, primary) {
        (_, Some(13)) => StoreError::Full(err.into()),
        // BUSY, LOCKED, NOMEM, READONLY, IOERR, CANTOPEN, PROTOCOL.
        (_, Some(5 | 6 | 7 | 8 | 10 | 14 | 15)) => StoreError::Unavailable(err.into()),
        (
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed,
            _,
        ) => StoreError::Unavailable(err.into()),
        _ => StoreError::Unexpected(err.into()),
    }
}

/// The answer a unique index gives when an insert would take a user id or
/// an active user's email (SQLite names the column it refused).
pub(super) fn taken(err: &sqlx::Error) -> Option<StoreError> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    if !db.is_unique_violation() {
        return None;
    }
    let message = db.message();
    if message.contains("users.id") {
        Some(StoreError::UserIdTaken)
    } else if message.contains("users.email_key") {
        Some(StoreError::EmailTaken)
    } else {
        None
    }
}

/// A user from a row of [`select_users`], read by column position (its
/// order is fixed there; looking columns up by name hashes every name).
pub(super) fn user_from(row: &SqliteRow) -> Result<User, StoreError> {
    let read = || -> anyhow::Result<User> {
        let uid: &str = row.try_get(1)?;
        let state: i64 = row.try_get(4)?;
        Ok(User {
            id: UserId::from_stored(row.try_get(0)?),
            uid: Uuid::parse_str(uid).context("stored uid")?,
            email: row.try_get(2)?,
            display_name: row.try_get(3)?,
            state: State::from_code(state).context("stored state")?,
            create_time: Micros(row.try_get(5)?),
            update_time: Micros(row.try_get(6)?),
            delete_time: row.try_get::<Option<i64>, _>(7)?.map(Micros),
            purge_time: row.try_get::<Option<i64>, _>(8)?.map(Micros),
            etag: row.try_get(9)?,
        })
    };
    read().map_err(|err| StoreError::Unexpected(err.context("cannot read a stored user")))
}
