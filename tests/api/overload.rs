//! Load shedding: beyond `limits.max_concurrent_calls` calls fail at once with
//! RESOURCE_EXHAUSTED; health and reflection stay exempt; capacity returns
//! as soon as a call ends. Gated calls hold the slots, so nothing here
//! depends on timing.
use futures::{StreamExt, future::join_all, stream::FuturesUnordered};
use tokio::task::JoinHandle;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use user_service::proto::{UserRequest, UserResponse};

use crate::{
    helpers::{GATED_ID, TestApp, TestUsers, bounded},
    table::{MAX_CALLS, reason, spawn_table_app},
};

fn gated_call(app: &TestApp) -> JoinHandle<Result<UserResponse, Status>> {
    let mut client = app.users();
    tokio::spawn(async move {
        let request = UserRequest {
            id: GATED_ID,
            name: "held".to_owned(),
        };
        client
            .list_user(request)
            .await
            .map(tonic::Response::into_inner)
    })
}

pub(crate) async fn calls_beyond_the_limit_are_shed_and_served_again_when_load_drops(
    app: &TestApp,
    users: &TestUsers,
) {
    let mut held: FuturesUnordered<_> = (0..MAX_CALLS).map(|_| gated_call(app)).collect();
    users.gated_calls_started(MAX_CALLS).await;

    // Four times the limit at once: every one refused at once, none waits.
    let extra = (0..4 * MAX_CALLS).map(|_| app.list_user(7, "shed"));
    for result in join_all(extra).await {
        let status = result.expect_err("shed while the server is full");
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(reason(&status), "OVERLOADED");
    }
    // Probes are exempt and tell the truth.
    assert_eq!(
        app.check("").await.expect("health answers"),
        ServingStatus::Serving
    );

    // One call ends: its slot serves the next call at once.
    users.release();
    let finished = bounded(held.next()).await.expect("a held call");
    finished
        .expect("joins")
        .expect("the released call succeeds");
    app.list_user(7, "served again").await.expect("a free slot");

    users.release_many(MAX_CALLS as usize - 1);
    while let Some(finished) = bounded(held.next()).await {
        finished.expect("joins").expect("released calls succeed");
    }
}

#[tokio::test]
async fn many_more_calls_than_the_limit_are_shed_without_a_hang() {
    let users = TestUsers::default();
    let app = spawn_table_app(&users).await;
    calls_beyond_the_limit_are_shed_and_served_again_when_load_drops(&app, &users).await;
    // With the load gone, the whole limit is available again.
    let calls = (0..MAX_CALLS).map(|_| app.list_user(7, "served"));
    assert!(join_all(calls).await.iter().all(Result::is_ok));
}
