//! The embedded store: one SQLite file in WAL mode. Writes go through a
//! single connection in `BEGIN IMMEDIATE` transactions (writers queue in the
//! pool, never meet SQLITE_BUSY); reads use a pool of their own.

mod connect;
mod queries;
mod rows;

use std::str::FromStr;

use anyhow::Context;
use sqlx::{
    AssertSqlSafe, Sqlite, Transaction,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

pub use connect::migrate;
use connect::{check_migrated, namespace, settled};
use queries::{by_request_id, check_new, commit, email_taken, load_for_write, save};
use rows::{classify, select_users, taken, user_from};

use super::listing::{Value, list_sql};

use crate::{
    directory::{
        Changes, ListQuery, Micros, NewUser, PoolUsage, SoftDelete, StoreError, StoreInfo, User,
        UserId, UserStore, Write, email_key,
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
        };
        // Only writes run transactions SQLite may roll back by itself; the
        // check costs an allocation per acquire, so readers go without.
        let writer = pool(1)
            .before_acquire(settled)
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

#[async_trait::async_trait]
impl UserStore for SqliteStore {
    async fn create(&self, user: &NewUser) -> Result<(User, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(request_id) = &user.request_id
            && let Some(earlier) = by_request_id(&mut tx, request_id).await?
        {
            return Ok((earlier, false));
        }
        // The unique indexes decide taken ids and emails: one statement
        // inside the write lock that every create queues behind.
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
        .map_err(|err| taken(&err).unwrap_or_else(|| classify(err)))?;
        commit(tx).await?;
        Ok((user.to_user(), true))
    }

    async fn check_create(&self, user: &NewUser) -> Result<Option<User>, StoreError> {
        let mut tx = self.reader.begin().await.map_err(classify)?;
        let checked = check_new(&mut tx, user).await;
        // Read only: nothing to commit.
        drop(tx);
        checked
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(select_users!("WHERE id = ?"))
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(classify)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<User>, StoreError> {
        let (sql, values) = list_sql(query, select_users!("WHERE 1 = 1"), |_| "?".to_owned());
        let mut statement = sqlx::query(AssertSqlSafe(sql));
        for value in values {
            statement = match value {
                Value::Int(int) => statement.bind(int),
                Value::State(state) => statement.bind(state.code()),
                Value::Text(text) => statement.bind(text),
            };
        }
        let rows = statement.fetch_all(&self.reader).await.map_err(classify)?;
        rows.iter().map(user_from).collect()
    }

    async fn update(&self, write: &Write<Changes>) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut user = load_for_write(&mut tx, write).await?;
        write.check(&user)?;
        if write.what.is_empty() {
            return Ok(user);
        }
        if let Some(key) = write.new_email_key(&user)
            && email_taken(&mut tx, &key, &user.id).await?
        {
            return Err(StoreError::EmailTaken);
        }
        write.apply(&mut user);
        save(&mut tx, &user).await?;
        commit(tx).await?;
        Ok(user)
    }

    async fn delete(&self, write: &Write<SoftDelete>) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut user = load_for_write(&mut tx, write).await?;
        write.apply(&mut user)?;
        save(&mut tx, &user).await?;
        commit(tx).await?;
        Ok(user)
    }

    async fn undelete(&self, write: &Write<()>) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut user = load_for_write(&mut tx, write).await?;
        write.check(&user)?;
        if email_taken(&mut tx, &email_key(&user.email), &user.id).await? {
            return Err(StoreError::EmailTaken);
        }
        write.apply(&mut user);
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
