//! The embedded store: one SQLite file in WAL mode. Writes go through a
//! single connection in `BEGIN IMMEDIATE` transactions (writers queue in the
//! pool, never meet SQLITE_BUSY); reads use a pool of their own.
use std::{path::Path, str::FromStr};

use anyhow::Context;
use futures::future::BoxFuture;
use sqlx::{
    AssertSqlSafe, Connection, Row, Sqlite, Transaction,
    pool::PoolConnectionMetadata,
    sqlite::{
        SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
        SqliteRow, SqliteSynchronous,
    },
};
use uuid::Uuid;

use crate::{
    directory::{
        Changes, Condition, ListQuery, Micros, NewUser, PoolUsage, SoftDelete, SortField, SortKey,
        State, StoreError, StoreInfo, User, UserId, UserStore, Write, email_key,
    },
    settings::StoreSettings,
};

/// The directory on an SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    info: StoreInfo,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

const COLUMNS: &str =
    "id, uid, email, display_name, state, create_time, update_time, delete_time, purge_time, etag";

impl SqliteStore {
    /// Opens (creating it and its directory when missing) the file `url`
    /// names, and applies the migrations when `settings.migrate`.
    pub async fn open(url: &str, settings: &StoreSettings) -> anyhow::Result<Self> {
        let synchronous = match settings.sqlite_synchronous.as_str() {
            "normal" => SqliteSynchronous::Normal,
            _ => SqliteSynchronous::Full,
        };
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| "store.url is not a valid SQLite URL".to_owned())?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(settings.timeout)
            .foreign_keys(true);
        let path = options.get_filename().to_path_buf();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the store directory {}", dir.display()))?;
        }
        let pool = |max| {
            SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(settings.acquire_timeout)
                .before_acquire(settled)
        };
        let writer = pool(1)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open the SQLite store {}", path.display()))?;
        if settings.migrate {
            migrate(&writer).await?;
        } else {
            check_migrated(&writer).await?;
        }
        let reader = pool(settings.max_connections)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| {
                format!(
                    "cannot open the SQLite store {} for reading",
                    path.display()
                )
            })?;
        Ok(Self {
            writer,
            reader,
            info: StoreInfo {
                system: "sqlite",
                namespace: namespace(&path),
                server: None,
            },
        })
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(classify)
    }
}

/// Applies the embedded migrations (`user-service migrate` and start-up).
pub async fn migrate(pool: &SqlitePool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("cannot apply the store's migrations")
}

/// False for a connection still inside a transaction once its queued
/// rollback has run (the ping waits for it). SQLite rolls a transaction back
/// by itself on some errors (disk full, I/O error); sqlx's own ROLLBACK then
/// fails, leaves it counting an open transaction, and every later BEGIN on
/// that connection fails too: the pool replaces such a connection.
fn settled(
    conn: &mut SqliteConnection,
    _: PoolConnectionMetadata,
) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if conn.is_in_transaction() {
            conn.ping().await?;
        }
        Ok(!conn.is_in_transaction())
    })
}

/// With `store.migrate = false` the schema must be there already: saying so
/// at start-up beats "no such table" on the first call.
async fn check_migrated(pool: &SqlitePool) -> anyhow::Result<()> {
    let tracked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await
    .context("cannot read the store's schema version")?;
    let applied: Vec<i64> = match tracked {
        true => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
            .context("cannot read the store's schema version")?,
        false => Vec::new(),
    };
    let missing = MIGRATOR
        .iter()
        .filter(|migration| !migration.migration_type.is_down_migration())
        .filter(|migration| !applied.contains(&migration.version))
        .count();
    if missing > 0 {
        anyhow::bail!(
            "the store lacks {missing} of the schema's migrations and store.migrate is false: \
             run `user-service migrate` first, or set store.migrate = true"
        );
    }
    Ok(())
}

fn namespace(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Maps a driver error to what callers can act on: retry (unavailable),
/// free space (full), or a bug (unexpected).
fn classify(err: sqlx::Error) -> StoreError {
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

fn user_from(row: &SqliteRow) -> Result<User, StoreError> {
    let read = || -> anyhow::Result<User> {
        let uid: String = row.try_get("uid")?;
        let state: i64 = row.try_get("state")?;
        Ok(User {
            id: UserId::from_stored(row.try_get("id")?),
            uid: Uuid::parse_str(&uid).context("stored uid")?,
            email: row.try_get("email")?,
            display_name: row.try_get("display_name")?,
            state: State::from_code(state).context("stored state")?,
            create_time: Micros(row.try_get("create_time")?),
            update_time: Micros(row.try_get("update_time")?),
            delete_time: row.try_get::<Option<i64>, _>("delete_time")?.map(Micros),
            purge_time: row.try_get::<Option<i64>, _>("purge_time")?.map(Micros),
            etag: row.try_get("etag")?,
        })
    };
    read().map_err(|err| StoreError::Unexpected(err.context("cannot read a stored user")))
}

async fn select_user(
    tx: &mut Transaction<'static, Sqlite>,
    id: &UserId,
) -> Result<Option<User>, StoreError> {
    let sql = AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE id = ?"));
    let row = sqlx::query(sql)
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(classify)?;
    row.as_ref().map(user_from).transpose()
}

async fn by_request_id(
    tx: &mut Transaction<'static, Sqlite>,
    request_id: &Uuid,
) -> Result<Option<User>, StoreError> {
    let sql = AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE request_id = ?"));
    let row = sqlx::query(sql)
        .bind(request_id.to_string())
        .fetch_optional(&mut **tx)
        .await
        .map_err(classify)?;
    row.as_ref().map(user_from).transpose()
}

/// True when a user other than `id` that is not deleted has `key`.
async fn email_taken(
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
async fn check_new(
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
async fn load_for_write<T>(
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

async fn save(tx: &mut Transaction<'static, Sqlite>, user: &User) -> Result<(), StoreError> {
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

async fn commit(tx: Transaction<'static, Sqlite>) -> Result<(), StoreError> {
    tx.commit().await.map_err(classify)
}

/// The SQL and the bound values of one page of a listing.
fn list_sql(query: &ListQuery) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {COLUMNS} FROM users WHERE 1 = 1");
    let mut values = Vec::new();
    if !query.show_deleted {
        sql.push_str(" AND state = 1");
    }
    for condition in &query.filter.conditions {
        match condition {
            Condition::Email(key) => {
                sql.push_str(" AND email_key = ?");
                values.push(Value::Text(key.clone()));
            }
            Condition::DisplayName(name) => {
                sql.push_str(" AND display_name = ?");
                values.push(Value::Text(name.clone()));
            }
            Condition::State(state) => {
                sql.push_str(" AND state = ?");
                values.push(Value::Int(state.code()));
            }
        }
    }
    let column = match query.ordering.field {
        SortField::CreateTime => "create_time",
        SortField::Email => "email_key",
        SortField::DisplayName => "display_name",
    };
    let (direction, after) = match query.ordering.descending {
        true => ("DESC", "<"),
        false => ("ASC", ">"),
    };
    if let Some(cursor) = &query.after {
        sql.push_str(&format!(" AND ({column}, id) {after} (?, ?)"));
        values.push(match &cursor.key {
            SortKey::Time(time) => Value::Int(time.0),
            SortKey::Text(text) => Value::Text(text.clone()),
        });
        values.push(Value::Text(cursor.id.as_str().to_owned()));
    }
    sql.push_str(&format!(
        " ORDER BY {column} {direction}, id {direction} LIMIT ?"
    ));
    values.push(Value::Int(i64::from(query.limit)));
    (sql, values)
}

/// A value bound to a listing's query.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(i64),
    Text(String),
}

#[async_trait::async_trait]
impl UserStore for SqliteStore {
    async fn create(&self, user: &NewUser) -> Result<(User, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(earlier) = check_new(&mut tx, user).await? {
            return Ok((earlier, false));
        }
        sqlx::query(
            "INSERT INTO users (id, uid, email, email_key, display_name, state, create_time, \
             update_time, etag, request_id) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
        )
        .bind(user.id.as_str())
        .bind(user.uid.to_string())
        .bind(user.email.as_str())
        .bind(user.email.key())
        .bind(user.display_name.as_str())
        .bind(user.now.0)
        .bind(user.now.0)
        .bind(&user.etag)
        .bind(user.request_id.map(|id| id.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        let created = select_user(&mut tx, &user.id).await?.ok_or_else(|| {
            StoreError::Unexpected(anyhow::anyhow!("an inserted user is missing"))
        })?;
        commit(tx).await?;
        Ok((created, true))
    }

    async fn check_create(&self, user: &NewUser) -> Result<Option<User>, StoreError> {
        let mut tx = self.reader.begin().await.map_err(classify)?;
        let checked = check_new(&mut tx, user).await;
        // Read only: nothing to commit.
        drop(tx);
        checked
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let sql = AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE id = ?"));
        let row = sqlx::query(sql)
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(classify)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<User>, StoreError> {
        let (sql, values) = list_sql(query);
        let mut statement = sqlx::query(AssertSqlSafe(sql));
        for value in values {
            statement = match value {
                Value::Int(int) => statement.bind(int),
                Value::Text(text) => statement.bind(text),
            };
        }
        let rows = statement.fetch_all(&self.reader).await.map_err(classify)?;
        rows.iter().map(user_from).collect()
    }

    async fn update(&self, write: &Write<Changes>) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut user = load_for_write(&mut tx, write).await?;
        if user.state == State::Deleted {
            return Err(StoreError::Deleted);
        }
        if write.what.is_empty() {
            return Ok(user);
        }
        if let Some(email) = &write.what.email {
            if email.key() != email_key(&user.email)
                && email_taken(&mut tx, &email.key(), &user.id).await?
            {
                return Err(StoreError::EmailTaken);
            }
            user.email = email.as_str().to_owned();
        }
        if let Some(name) = &write.what.display_name {
            user.display_name = name.as_str().to_owned();
        }
        user.update_time = write.now;
        user.etag.clone_from(&write.new_etag);
        save(&mut tx, &user).await?;
        commit(tx).await?;
        Ok(user)
    }

    async fn delete(&self, write: &Write<SoftDelete>) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut user = load_for_write(&mut tx, write).await?;
        if user.state == State::Deleted {
            return Err(StoreError::Deleted);
        }
        user.state = State::Deleted;
        user.delete_time = Some(write.now);
        user.purge_time = Some(write.what.purge_time);
        user.update_time = write.now;
        user.etag.clone_from(&write.new_etag);
        save(&mut tx, &user).await?;
        commit(tx).await?;
        Ok(user)
    }

    async fn undelete(&self, write: &Write<()>) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut user = load_for_write(&mut tx, write).await?;
        if user.state == State::Active {
            return Err(StoreError::NotDeleted);
        }
        if email_taken(&mut tx, &email_key(&user.email), &user.id).await? {
            return Err(StoreError::EmailTaken);
        }
        user.state = State::Active;
        user.delete_time = None;
        user.purge_time = None;
        user.update_time = write.now;
        user.etag.clone_from(&write.new_etag);
        save(&mut tx, &user).await?;
        commit(tx).await?;
        Ok(user)
    }

    async fn purge(&self, now: Micros, limit: u32) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM users WHERE id IN \
             (SELECT id FROM users WHERE state = 2 AND purge_time <= ? LIMIT ?)",
        )
        .bind(now.0)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        commit(tx).await?;
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // A real write, so a full disk or a read-only file shows too.
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO service_meta (key, value) VALUES ('heartbeat', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(Micros::now().0.to_be_bytes().to_vec())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        commit(tx).await?;
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn shared_secret(&self) -> Result<Vec<u8>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|err| StoreError::Unexpected(anyhow::anyhow!("no randomness: {err}")))?;
        sqlx::query("INSERT INTO service_meta (key, value) VALUES ('page_token_secret', ?) ON CONFLICT (key) DO NOTHING")
            .bind(secret.to_vec())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        let kept: Vec<u8> =
            sqlx::query_scalar("SELECT value FROM service_meta WHERE key = 'page_token_secret'")
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
        commit(tx).await?;
        Ok(kept)
    }

    fn info(&self) -> &StoreInfo {
        &self.info
    }

    fn pool_usage(&self) -> PoolUsage {
        let pools = [&self.writer, &self.reader];
        let open: u64 = pools.iter().map(|pool| u64::from(pool.size())).sum();
        let idle: u64 = pools.iter().map(|pool| pool.num_idle() as u64).sum();
        PoolUsage {
            idle,
            used: open.saturating_sub(idle),
            max: pools
                .iter()
                .map(|pool| u64::from(pool.options().get_max_connections()))
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Cursor, Filter, Ordering};

    #[test]
    fn listings_page_by_keyset_never_offset() {
        let query = ListQuery {
            filter: Filter::parse(r#"email = "A@b" AND state = ACTIVE"#).expect("filter"),
            ordering: Ordering::parse("email desc").expect("order"),
            show_deleted: false,
            after: Some(Cursor {
                key: SortKey::Text("a@b".to_owned()),
                id: UserId::from_stored("ann".to_owned()),
            }),
            limit: 11,
        };
        let (sql, values) = list_sql(&query);
        assert!(
            sql.contains("AND (email_key, id) < (?, ?) ORDER BY email_key DESC, id DESC LIMIT ?"),
            "{sql}"
        );
        assert!(!sql.contains("OFFSET"));
        assert_eq!(values.len(), 5);
        assert_eq!(values[4], Value::Int(11));
    }
}
