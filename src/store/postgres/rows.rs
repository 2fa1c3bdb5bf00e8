//! Rows and errors: a stored user read back, and driver errors mapped to
//! what a caller can act on.
use anyhow::Context;
use sqlx::{Row, postgres::PgRow};

use crate::directory::{Micros, State, StoreError, User, UserId};

/// `SELECT` of every column a user is read from, `FROM users`: the start of
/// every query that reads users, as a literal so each statement is one
/// static string (prepared once per connection, never formatted per call).
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

/// The columns [`select_users`] reads, in its order: [`user_from`] takes
/// them by position (by name, each would be a hash lookup per row).
#[cfg(test)]
const COLUMNS: [&str; 10] = [
    "id",
    "uid",
    "email",
    "display_name",
    "state",
    "create_time",
    "update_time",
    "delete_time",
    "purge_time",
    "etag",
];

/// Maps a driver error to what callers can act on: retry (unavailable,
/// conflict), free space (full), or a bug (unexpected).
pub(super) fn classify(err: sqlx::Error) -> StoreError {
    let code = match &err {
        sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
        _ => None,
    };
    match (&err, code.as_deref()) {
        // serialization_failure, deadlock_detected: the transaction lost to
        // a concurrent one and may be run again.
        (_, Some("40001" | "40P01")) => StoreError::Conflict(err.into()),
        (_, Some("53100")) => StoreError::Full(err.into()),
        (_, Some(code)) if unavailable(code) => StoreError::Unavailable(err.into()),
        (
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed,
            _,
        ) => StoreError::Unavailable(err.into()),
        _ => StoreError::Unexpected(err.into()),
    }
}

/// SQLSTATEs of a server that cannot answer now but may soon: connection
/// exceptions (08), shutdown or start-up (57P01–57P03), a timed-out
/// statement or lock (57014, 55P03), exhausted resources (53), a read-only
/// standby (25006).
fn unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57014" | "55P03" | "25006"
        )
}

/// True for a unique violation, whatever it names.
pub(super) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The answer a unique index gives when a write would take a user id or an
/// active user's email (PostgreSQL names the constraint it refused).
pub(super) fn taken(err: &sqlx::Error) -> Option<StoreError> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    if !db.is_unique_violation() {
        return None;
    }
    match db.constraint() {
        Some("users_pkey") => Some(StoreError::UserIdTaken),
        Some("users_active_email") => Some(StoreError::EmailTaken),
        _ => None,
    }
}

/// A write's error: the taken id or email it hit, else its class.
pub(super) fn write_error(err: sqlx::Error) -> StoreError {
    taken(&err).unwrap_or_else(|| classify(err))
}

pub(super) fn user_from(row: &PgRow) -> Result<User, StoreError> {
    // By position, in the order of `select_users!` (see `COLUMNS`).
    let read = || -> anyhow::Result<User> {
        let state: i16 = row.try_get(4)?;
        Ok(User {
            id: UserId::from_stored(row.try_get(0)?),
            uid: row.try_get(1)?,
            email: row.try_get(2)?,
            display_name: row.try_get(3)?,
            state: State::from_code(i64::from(state)).context("stored state")?,
            create_time: Micros(row.try_get(5)?),
            update_time: Micros(row.try_get(6)?),
            delete_time: row.try_get::<Option<i64>, _>(7)?.map(Micros),
            purge_time: row.try_get::<Option<i64>, _>(8)?.map(Micros),
            etag: row.try_get(9)?,
        })
    };
    read().map_err(|err| StoreError::Unexpected(err.context("cannot read a stored user")))
}

/// The code a state is stored as (the column is a SMALLINT).
pub(super) fn state_code(state: State) -> i16 {
    match state {
        State::Active => 1,
        State::Deleted => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_read_by_position_in_the_order_they_are_selected() {
        assert_eq!(
            select_users!(),
            format!("SELECT {} FROM users", COLUMNS.join(", "))
        );
    }

    #[test]
    fn a_server_going_away_or_timing_out_is_unavailable_never_unexpected() {
        for code in [
            "08006", "08001", "57P01", "57P03", "57014", "53300", "25006",
        ] {
            assert!(unavailable(code), "{code}");
        }
        for code in ["23505", "42P01", "22001"] {
            assert!(!unavailable(code), "{code}");
        }
        for err in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ] {
            assert!(matches!(classify(err), StoreError::Unavailable(_)));
        }
    }
}
