//! The shared store: PostgreSQL, which several replicas of the service use at
//! once. Writes lock the row they change (`SELECT … FOR UPDATE`), so an etag
//! checked is the etag replaced; unique indexes decide taken ids and emails;
//! a transaction that loses to a concurrent one is run again a few times.

mod connect;
mod pool;
mod queries;
mod rows;
mod writes;

use anyhow::Context;
use sqlx::AssertSqlSafe;

pub use connect::MIGRATION_LOCK;
use connect::{check_migrated, info, migrate, options};
use pool::Pool;
use queries::{by_request_id, email_taken, select_user};
use rows::{classify, select_users, state_code, user_from};
use writes::retried;

use super::listing::{Value, list_sql};

use crate::{
    directory::{
        Changes, ListQuery, Micros, NewUser, PoolUsage, SoftDelete, StoreError, StoreInfo, User,
        UserId, UserStore, Write,
    },
    settings::StoreSettings,
};

/// The directory on a PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    pool: Pool,
    info: StoreInfo,
}

impl PostgresStore {
    /// Connects to the database `settings.url` names and applies the
    /// migrations when `settings.migrate` (else checks they were applied).
    pub async fn open(settings: &StoreSettings) -> anyhow::Result<Self> {
        let options = options(settings)?;
        let info = info(&options);
        let pool = Pool::new(options, settings.max_connections, settings.acquire_timeout);
        // The first connection says at start-up whether the database is
        // there (and kept for the first call).
        pool.acquire()
            .await
            .map(pool::Conn::release)
            .with_context(|| {
                format!(
                    "cannot connect to PostgreSQL at {}:{}",
                    info.server.as_ref().map_or("", |(host, _)| host.as_str()),
                    info.server.as_ref().map_or(0, |(_, port)| *port)
                )
            })?;
        if settings.migrate {
            migrate(&pool).await?;
        } else {
            check_migrated(&pool).await?;
        }
        Ok(Self { pool, info })
    }
}

#[async_trait::async_trait]
impl UserStore for PostgresStore {
    async fn create(&self, user: &NewUser) -> Result<(User, bool), StoreError> {
        retried(|| writes::create(&self.pool, user)).await
    }

    async fn check_create(&self, user: &NewUser) -> Result<Option<User>, StoreError> {
        let mut conn = self.acquire().await?;
        if let Some(request_id) = &user.request_id
            && let Some(earlier) = by_request_id(&mut *conn, request_id).await?
        {
            conn.release();
            return Ok(Some(earlier));
        }
        if select_user(&mut *conn, &user.id).await?.is_some() {
            conn.release();
            return Err(StoreError::UserIdTaken);
        }
        let taken = email_taken(&mut *conn, &user.email.key(), &user.id).await?;
        conn.release();
        match taken {
            true => Err(StoreError::EmailTaken),
            false => Ok(None),
        }
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let mut conn = self.acquire().await?;
        let user = select_user(&mut *conn, id).await?;
        conn.release();
        Ok(user)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<User>, StoreError> {
        let (sql, values) = list_sql(query, select_users!("WHERE TRUE"), |n| format!("${n}"));
        let mut statement = sqlx::query(AssertSqlSafe(sql));
        for value in values {
            statement = match value {
                Value::Int(int) => statement.bind(int),
                Value::State(state) => statement.bind(state_code(state)),
                Value::Text(text) => statement.bind(text),
            };
        }
        let mut conn = self.acquire().await?;
        let rows = statement.fetch_all(&mut *conn).await.map_err(classify)?;
        conn.release();
        rows.iter().map(user_from).collect()
    }

    async fn update(&self, write: &Write<Changes>) -> Result<User, StoreError> {
        retried(|| writes::update(&self.pool, write)).await
    }

    async fn delete(&self, write: &Write<SoftDelete>) -> Result<User, StoreError> {
        retried(|| writes::delete(&self.pool, write)).await
    }

    async fn undelete(&self, write: &Write<()>) -> Result<User, StoreError> {
        retried(|| writes::undelete(&self.pool, write)).await
    }

    async fn purge(&self, now: Micros, limit: u32) -> Result<u64, StoreError> {
        // Rows another replica's sweep holds are skipped, not waited for.
        let purge = || async {
            let mut conn = self.acquire().await?;
            let purged = sqlx::query(
                "DELETE FROM users WHERE id IN (SELECT id FROM users WHERE state = 2 \
                 AND purge_time <= $1 ORDER BY purge_time LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind(now.0)
            .bind(i64::from(limit))
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
            conn.release();
            Ok(purged.rows_affected())
        };
        retried(purge).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // A standby (after a failover, before the service is pointed at
        // the new primary) answers reads but refuses every write.
        let mut conn = self.acquire().await?;
        let standby: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&mut *conn)
            .await
            .map_err(classify)?;
        conn.release();
        match standby {
            false => Ok(()),
            true => Err(StoreError::Unavailable(anyhow::anyhow!(
                "the database is a read-only standby"
            ))),
        }
    }

    async fn shared_secret(&self) -> Result<Vec<u8>, StoreError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|err| StoreError::Unexpected(anyhow::anyhow!("no randomness: {err}")))?;
        let mut conn = self.acquire().await?;
        // The first replica to get here sets it; every other keeps theirs.
        sqlx::query(
            "INSERT INTO service_meta (key, value) VALUES ('page_token_secret', $1) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(secret.to_vec())
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
        let secret =
            sqlx::query_scalar("SELECT value FROM service_meta WHERE key = 'page_token_secret'")
                .fetch_one(&mut *conn)
                .await
                .map_err(classify)?;
        conn.release();
        Ok(secret)
    }

    fn info(&self) -> &StoreInfo {
        &self.info
    }

    fn pool_usage(&self) -> PoolUsage {
        let (open, idle) = self.pool.usage();
        PoolUsage {
            idle: u64::from(idle),
            used: u64::from(open.saturating_sub(idle)),
            max: u64::from(self.pool.max()),
        }
    }
}

impl PostgresStore {
    async fn acquire(&self) -> Result<pool::Conn, StoreError> {
        self.pool.acquire().await.map_err(classify)
    }
}
