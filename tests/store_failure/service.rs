//! The binary on a store directory of the test's choosing, its clients, and
//! the contract a failing store's answers must meet.
use std::{
    collections::BTreeSet,
    future::Future,
    net::SocketAddr,
    path::Path,
    time::{Duration, Instant},
};

use tonic::{
    Code, Request, Response, Status,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;
use user_service::proto::v1::{
    self, CreateUserRequest, GetUserRequest, ListUsersRequest, ListUsersResponse,
    user_service_client::UserServiceClient,
};

use crate::process::{self, Running, WAIT_BOUND};

/// The deadline every call carries.
pub(crate) const DEADLINE: Duration = Duration::from_secs(5);
/// Past the deadline by this much, a call counts as a hang.
const HANG_MARGIN: Duration = Duration::from_secs(1);
/// How long health may take to follow the store.
const HEALTH_BOUND: Duration = Duration::from_secs(10);
/// The health name that follows the store.
pub(crate) const STORE: &str = "user.v1.UserService";

pub(crate) type Users = UserServiceClient<Channel>;
pub(crate) type Health = HealthClient<Channel>;

/// `sqlite://` URL of `users.db` in `dir`.
pub(crate) fn store_url(dir: &Path) -> String {
    format!("sqlite://{}/users.db", dir.display())
}

/// Starts the binary on `dir/users.db`, admin off and a short grace
/// period (restarts stay quick), with `env` on top.
pub(crate) async fn start(dir: &Path, env: &[(&str, &str)]) -> Running {
    let url = store_url(dir);
    let mut all = vec![
        ("USER_SERVICE__STORE__URL", url.as_str()),
        ("USER_SERVICE__ADMIN__ENABLED", "false"),
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "100ms"),
    ];
    all.extend_from_slice(env);
    process::start(&all).await
}

/// SIGTERM, then the exit code (bounded).
pub(crate) async fn terminate(running: &mut Running) -> Option<i32> {
    process::send_signal(&running.child, "TERM");
    process::exit_code(&mut running.child, WAIT_BOUND).await
}

/// A connection of its own to `addr` (bounded).
pub(crate) async fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("a valid URI")
        .connect_timeout(DEADLINE)
        .connect()
        .await
        .expect("the server accepts connections")
}

pub(crate) async fn clients(addr: SocketAddr) -> (Users, Health) {
    let channel = channel(addr).await;
    (
        UserServiceClient::new(channel.clone()),
        HealthClient::new(channel),
    )
}

fn with_deadline<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(DEADLINE);
    request
}

/// The call's answer; no answer by the deadline (plus a margin) fails the
/// test: a failing store must never make a call hang.
async fn answered<R>(call: impl Future<Output = Result<Response<R>, Status>>) -> Result<R, Status> {
    tokio::time::timeout(DEADLINE + HANG_MARGIN, call)
        .await
        .expect("an answer within the call's deadline, not a hang")
        .map(Response::into_inner)
}

/// Creates `users/{id}` with email `{id}@example.com`.
pub(crate) async fn create(
    users: &mut Users,
    id: &str,
    display_name: &str,
) -> Result<v1::User, Status> {
    let request = CreateUserRequest {
        user: Some(v1::User {
            email: format!("{id}@example.com"),
            display_name: display_name.to_owned(),
            ..v1::User::default()
        }),
        user_id: id.to_owned(),
        ..CreateUserRequest::default()
    };
    answered(users.create_user(with_deadline(request))).await
}

pub(crate) async fn get(users: &mut Users, name: &str) -> Result<v1::User, Status> {
    let request = GetUserRequest {
        name: name.to_owned(),
    };
    answered(users.get_user(with_deadline(request))).await
}

pub(crate) async fn list_page(
    users: &mut Users,
    page_size: i32,
    token: &str,
) -> Result<ListUsersResponse, Status> {
    let request = ListUsersRequest {
        page_size,
        page_token: token.to_owned(),
        ..ListUsersRequest::default()
    };
    answered(users.list_users(with_deadline(request))).await
}

/// The names of every (not deleted) user, paging to the end.
pub(crate) async fn all_names(users: &mut Users) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut token = String::new();
    // Bounded: a million users at most, far more than any test makes.
    for _ in 0..1000 {
        let page = list_page(users, 1000, &token).await.expect("a page");
        names.extend(page.users.into_iter().map(|user| user.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        token = page.next_page_token;
    }
    panic!("paging never ended");
}

pub(crate) async fn health_of(health: &mut Health, name: &str) -> ServingStatus {
    let request = HealthCheckRequest {
        service: name.to_owned(),
    };
    let answer = answered(health.check(with_deadline(request)))
        .await
        .unwrap_or_else(|status| panic!("health of {name:?}: {status:?}"));
    ServingStatus::try_from(answer.status).expect("a known status")
}

/// Polls health of `name` until it is `want`; returns how long it took.
pub(crate) async fn wait_health(health: &mut Health, name: &str, want: ServingStatus) -> Duration {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    loop {
        ticks.tick().await;
        let status = health_of(health, name).await;
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < HEALTH_BOUND,
            "{name:?} still {status:?}, not {want:?}, after {HEALTH_BOUND:?}"
        );
    }
}

/// What a store that cannot take a write may answer: UNAVAILABLE
/// (STORE_UNAVAILABLE) or RESOURCE_EXHAUSTED (STORE_FULL), each with this
/// service's `ErrorInfo`; never INTERNAL.
#[track_caller]
pub(crate) fn assert_store_failure(status: &Status) {
    let reason = match status.code() {
        Code::Unavailable => "STORE_UNAVAILABLE",
        Code::ResourceExhausted => "STORE_FULL",
        other => panic!(
            "a failing store must answer UNAVAILABLE or RESOURCE_EXHAUSTED, not {other:?}: {status:?}"
        ),
    };
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("an ErrorInfo on {status:?}"));
    assert_eq!(info.domain, "user-service", "{status:?}");
    assert_eq!(info.reason, reason, "{status:?}");
}
