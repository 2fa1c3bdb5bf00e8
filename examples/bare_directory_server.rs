//! The ceiling for the directory, for benchmarks: `user.v1.UserService`
//! GetUser, CreateUser and ListUsers on the same SQLite schema, driver and
//! connection settings as the service (WAL, `synchronous=full`, one writer
//! connection in `BEGIN IMMEDIATE`, a read-only pool of 8), doing the same
//! point lookup, insert and keyset page, with no layers, health, reflection,
//! telemetry, page-token signing or validation beyond what the SQL needs.
//!
//! usage: bare_directory_server ADDR sqlite://FILE
use std::{str::FromStr, time::Duration};

use sqlx::{
    Row,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
};
use tonic::{Request, Response, Status, transport::Server};
use user_service::proto::v1::{
    CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest, ListUsersResponse,
    UndeleteUserRequest, UpdateUserRequest, User,
    user_service_server::{UserService, UserServiceServer},
};

/// The columns the service reads for a user, in its order.
macro_rules! columns {
    () => {
        "id, uid, email, display_name, state, create_time, update_time, delete_time, purge_time, etag"
    };
}

const GET_SQL: &str = concat!("SELECT ", columns!(), " FROM users WHERE id = ?");
/// The listing's SQL, as the service builds it for the default order.
const FIRST_PAGE_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE 1 = 1 AND state = 1 ",
    "ORDER BY create_time ASC, id ASC LIMIT ?"
);
const NEXT_PAGE_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE 1 = 1 AND state = 1 AND (create_time, id) > (?, ?) ",
    "ORDER BY create_time ASC, id ASC LIMIT ?"
);

struct Bare {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

fn user_from(row: &SqliteRow) -> Result<User, sqlx::Error> {
    let id: &str = row.try_get(0)?;
    Ok(User {
        name: format!("users/{id}"),
        uid: row.try_get(1)?,
        email: row.try_get(2)?,
        display_name: row.try_get(3)?,
        state: row.try_get::<i32, _>(4)?,
        create_time: Some(timestamp(row.try_get(5)?)),
        update_time: Some(timestamp(row.try_get(6)?)),
        delete_time: row.try_get::<Option<i64>, _>(7)?.map(timestamp),
        purge_time: row.try_get::<Option<i64>, _>(8)?.map(timestamp),
        etag: row.try_get(9)?,
    })
}

fn internal(err: sqlx::Error) -> Status {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Status::already_exists("taken"),
        _ => Status::unavailable(err.to_string()),
    }
}

fn now_micros() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    since.as_micros() as i64
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not part of the ceiling"))
}

#[tonic::async_trait]
impl UserService for Bare {
    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        let name = &request.get_ref().name;
        let id = name
            .strip_prefix("users/")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Status::invalid_argument("name"))?;
        let row = sqlx::query(GET_SQL)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("no such user"))?;
        user_from(&row).map(Response::new).map_err(internal)
    }

    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let user = request.into_inner().user.unwrap_or_default();
        if !user.email.contains('@') {
            return Err(Status::invalid_argument("user.email"));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let uid = uuid::Uuid::new_v4().to_string();
        let etag = format!("{:016x}", uuid::Uuid::new_v4().as_u64_pair().0);
        let now = now_micros();
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(internal)?;
        sqlx::query(
            "INSERT INTO users (id, uid, email, email_key, display_name, state, create_time, \
             update_time, etag) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&uid)
        .bind(&user.email)
        .bind(user.email.to_lowercase())
        .bind(&user.display_name)
        .bind(now)
        .bind(now)
        .bind(&etag)
        .execute(&mut *tx)
        .await
        .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        Ok(Response::new(User {
            name: format!("users/{id}"),
            uid,
            email: user.email,
            display_name: user.display_name,
            state: 1,
            create_time: Some(timestamp(now)),
            update_time: Some(timestamp(now)),
            delete_time: None,
            purge_time: None,
            etag,
        }))
    }

    /// Active users by create_time then id, keyset-paged; the token is the
    /// last user's `create_time.id` in plain text.
    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let request = request.get_ref();
        let size = match request.page_size {
            0 => 50,
            size => size.clamp(1, 1000),
        };
        let after = match request.page_token.split_once('.') {
            Some((time, id)) => Some((
                time.parse::<i64>()
                    .map_err(|_| Status::invalid_argument("page_token"))?,
                id,
            )),
            None if request.page_token.is_empty() => None,
            None => return Err(Status::invalid_argument("page_token")),
        };
        let query = match after {
            Some((time, id)) => sqlx::query(NEXT_PAGE_SQL).bind(time).bind(id),
            None => sqlx::query(FIRST_PAGE_SQL),
        };
        let rows = query
            .bind(i64::from(size) + 1)
            .fetch_all(&self.reader)
            .await
            .map_err(internal)?;
        let mut users = rows
            .iter()
            .map(user_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        let mut next_page_token = String::new();
        if users.len() > size as usize {
            users.truncate(size as usize);
            if let (Some(last), Some(row)) = (users.last(), rows.get(size as usize - 1)) {
                let time: i64 = row.try_get(5).map_err(internal)?;
                next_page_token = format!("{time}.{}", &last.name["users/".len()..]);
            }
        }
        Ok(Response::new(ListUsersResponse {
            users,
            next_page_token,
        }))
    }

    async fn update_user(&self, _: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        unimplemented()
    }

    async fn delete_user(&self, _: Request<DeleteUserRequest>) -> Result<Response<User>, Status> {
        unimplemented()
    }

    async fn undelete_user(
        &self,
        _: Request<UndeleteUserRequest>,
    ) -> Result<Response<User>, Status> {
        unimplemented()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A process without a `tracing` dispatcher falls back to the `log` crate
    // at every h2 and hyper span (sqlx turns on tracing's `log` feature for
    // the whole build): about 13,600 instructions per call. Every real server
    // sets a subscriber; this one sets the one that records nothing.
    tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, url] = args.as_slice() else {
        return Err("usage: bare_directory_server ADDR sqlite://FILE".into());
    };
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(2))
        .foreign_keys(true);
    let pool = |max| {
        SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(2))
    };
    let writer = pool(1).connect_with(options.clone()).await?;
    sqlx::migrate!("migrations/sqlite").run(&writer).await?;
    let reader = pool(8).connect_with(options.read_only(true)).await?;
    Server::builder()
        .add_service(UserServiceServer::new(Bare { writer, reader }))
        .serve(addr.parse()?)
        .await?;
    Ok(())
}
