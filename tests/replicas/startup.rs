//! Four replicas started at once on an empty database: the migrations run
//! under an advisory lock, so every replica serves and the schema is
//! applied once.
use sqlx::{Connection, PgConnection};
use user_service::proto::v1::ListUsersRequest;

use crate::{
    postgres::PgServer,
    replica_settings,
    server::Server,
    skipped,
    support::{create, list},
};

const REPLICAS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_replicas_starting_at_once_on_an_empty_database_all_serve_and_migrate_once() {
    let Some(server) = PgServer::shared() else {
        return skipped("four replicas at once");
    };
    let url = server.fresh_database().await;
    // Each start returns once its replica reports user.v1.UserService SERVING.
    let replicas = futures::future::join_all(
        (0..REPLICAS).map(|_| Server::start(replica_settings(server, &url))),
    )
    .await;

    let name = url.rsplit('/').next().expect("a database name");
    let mut conn = PgConnection::connect(&server.admin_url(name))
        .await
        .expect("connects");
    let applied: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT version, count(*) FROM _sqlx_migrations WHERE success GROUP BY version",
    )
    .fetch_all(&mut conn)
    .await
    .expect("the migrations table");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .expect("the migrations folder")
        .count();
    assert_eq!(applied.len(), files, "every migration applied: {applied:?}");
    assert!(
        applied.iter().all(|(_, times)| *times == 1),
        "each applied once: {applied:?}"
    );

    // They are one directory: a write through one is read through all, and
    // a page token made by one is valid on another.
    for n in 0..3 {
        create(
            &mut replicas[0].client(),
            &format!("u{n}"),
            &format!("u{n}@x.org"),
        )
        .await;
    }
    let first = list(
        &mut replicas[1].client(),
        ListUsersRequest {
            page_size: 2,
            ..ListUsersRequest::default()
        },
    )
    .await
    .expect("a first page");
    let rest = list(
        &mut replicas[REPLICAS - 1].client(),
        ListUsersRequest {
            page_size: 2,
            page_token: first.next_page_token,
            ..ListUsersRequest::default()
        },
    )
    .await
    .expect("the token is valid on another replica");
    assert_eq!(first.users.len() + rest.users.len(), 3);
    for replica in replicas {
        replica.stop().await;
    }
}
