//! A call cancelled while its statement waits (the client's deadline ran
//! out) leaves its connection fit for the next call: the store checks and
//! flushes a connection given back mid-way (the cancelled transaction rolled
//! back, its answer read) before another call gets it.
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tonic::Code;

use crate::{
    postgres::PgServer,
    replica_settings,
    server::Server,
    skipped,
    support::{create, get, update},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cancelled_mid_statement_leaves_its_connection_usable() {
    let Some(database) = PgServer::shared() else {
        return skipped("cancelled call");
    };
    let url = database.fresh_database().await;
    let mut settings = replica_settings(database, &url);
    // One connection: the call after the cancelled one gets the same.
    settings.store.max_connections = 1;
    let server = Server::start(settings).await;
    let mut client = server.client();
    let ann = create(&mut client, "ann", "ann@x.org").await;

    // Another session holds ann's row, so an update of ann waits for it
    // until the client gives up.
    let name = url.rsplit('/').next().expect("a database name");
    let mut holder = PgConnection::connect(&database.admin_url(name))
        .await
        .expect("the test server accepts connections");
    sqlx::raw_sql("BEGIN; SELECT 1 FROM users WHERE id = 'ann' FOR UPDATE")
        .execute(&mut holder)
        .await
        .expect("the row is held");
    let mut changed = ann.clone();
    changed.display_name = "Ann Cancelled".to_owned();
    let mut request = tonic::Request::new(user_service::proto::v1::UpdateUserRequest {
        user: Some(changed),
        update_mask: None,
        allow_missing: false,
    });
    request.set_timeout(Duration::from_millis(300));
    let status = client
        .update_user(request)
        .await
        .expect_err("the row stays held past the deadline");
    // The service's deadline answers, or the client's own timer gives up
    // first and resets the stream: the service drops the call either way.
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    // The service's own deadline (the same, from when the call reached it)
    // has passed too before the row is let go.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::raw_sql("COMMIT")
        .execute(&mut holder)
        .await
        .expect("the row is let go");

    // The same connection serves again, with nothing of the cancelled call
    // on it: its update did not happen, and a new one with ann's etag does.
    let now = get(&mut client, &ann.name).await.expect("served again");
    assert_eq!(now, ann, "the cancelled update was rolled back");
    let mut renamed = ann.clone();
    renamed.display_name = "Ann Again".to_owned();
    let after = update(&mut client, renamed, None).await.expect("updated");
    assert_eq!(after.display_name, "Ann Again");
    assert_eq!(get(&mut client, &ann.name).await.expect("read"), after);
    server.stop().await;
}
