//! Spawning the server on an ephemeral port and talking to it.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures::StreamExt;
use tokio::{
    sync::{Semaphore, oneshot},
    task::JoinHandle,
};
use tonic::{
    Request, Response, Status,
    transport::{Channel, ClientTlsConfig, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use user_service::{
    proto::{UserRequest, UserResponse, users_client::UsersClient, users_server::Users},
    server::Application,
    settings::{Settings, StoreSettings},
    users::LegacyUsers,
};

/// How long any single wait in a test may take before it counts as a hang.
pub(crate) const BOUND: Duration = Duration::from_secs(10);

/// An id that makes [`TestUsers`] panic.
pub(crate) const PANIC_ID: i32 = 13;
/// An id that makes [`TestUsers`] wait until [`TestUsers::release`].
pub(crate) const GATED_ID: i32 = 42;

/// The real Users service, plus two ids that misbehave on purpose.
#[derive(Debug, Clone)]
pub(crate) struct TestUsers {
    /// One permit for each gated call that has entered its handler.
    started: Arc<Semaphore>,
    /// One permit for each gated call allowed to finish.
    gate: Arc<Semaphore>,
    /// The real service every call ends in, with the server's limits.
    real: LegacyUsers,
}

impl Default for TestUsers {
    fn default() -> Self {
        Self {
            started: Arc::new(Semaphore::new(0)),
            gate: Arc::new(Semaphore::new(0)),
            real: LegacyUsers::default(),
        }
    }
}

impl TestUsers {
    /// Waits until a gated call is inside its handler.
    pub(crate) async fn gated_call_started(&self) {
        self.gated_calls_started(1).await;
    }

    /// Waits until `count` more gated calls are inside their handlers.
    pub(crate) async fn gated_calls_started(&self, count: u32) {
        bounded(self.started.acquire_many(count))
            .await
            .expect("the semaphore stays open")
            .forget();
    }

    /// Lets one gated call finish.
    pub(crate) fn release(&self) {
        self.release_many(1);
    }

    /// Lets `count` gated calls finish.
    pub(crate) fn release_many(&self, count: usize) {
        self.gate.add_permits(count);
    }
}

#[tonic::async_trait]
impl Users for TestUsers {
    async fn list_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        match request.get_ref().id {
            PANIC_ID => panic!("handler bug"),
            GATED_ID => {
                self.started.add_permits(1);
                if let Ok(permit) = self.gate.acquire().await {
                    permit.forget();
                }
            }
            _ => {}
        }
        self.real.list_user(request).await
    }
}

/// Settings for tests: loopback, ephemeral port, quick shutdown.
pub(crate) fn test_settings() -> Settings {
    let mut settings = Settings::default();
    settings.server.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.admin.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.shutdown.grace_period = Duration::from_millis(200);
    settings.shutdown.drain_timeout = Duration::from_secs(5);
    settings
}

/// How a test client reaches the server over TLS: tonic's configuration for
/// channels, rustls' for raw connections.
#[derive(Clone)]
pub(crate) struct ClientTls {
    pub(crate) tonic: ClientTlsConfig,
    pub(crate) rustls: Arc<rustls::ClientConfig>,
}

/// A running server and the means to stop it.
pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) admin_addr: Option<SocketAddr>,
    pub(crate) channel: Channel,
    /// `None` for plaintext.
    pub(crate) tls: Option<ClientTls>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<anyhow::Result<()>>,
    /// Holds the SQLite store of a test that did not choose its own.
    _store_dir: Option<tempfile::TempDir>,
}

/// Spawns the real service with test settings, ready (health SERVING).
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings(), TestUsers::default()).await
}

/// Spawns a server with `settings` and `users`, and waits until it reports SERVING.
pub(crate) async fn spawn_app_with(settings: Settings, users: TestUsers) -> TestApp {
    spawn_app_over(settings, users, None).await
}

/// Like [`spawn_app_with`], reaching the server over `tls` when given.
pub(crate) async fn spawn_app_over(
    settings: Settings,
    users: TestUsers,
    tls: Option<ClientTls>,
) -> TestApp {
    let mut settings = settings;
    let mut users = users;
    users.real = LegacyUsers::new(&settings.limits);
    // Every test gets a fresh store unless it chose one.
    let store_dir = (settings.store.url == StoreSettings::default().url).then(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        settings.store.url = format!("sqlite://{}/users.db", dir.path().display());
        dir
    });
    let store = user_service::store::open(&settings.store)
        .await
        .expect("the store opens");
    let app = Application::build_with(settings, users, store)
        .await
        .expect("the server binds");
    let addr = app.local_addr();
    let admin_addr = app.admin_addr();
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = shutdown_rx.await;
    }));
    let channel = bounded(endpoint(addr, tls.as_ref().map(|tls| &tls.tonic)).connect())
        .await
        .expect("the server accepts connections");
    let test_app = TestApp {
        addr,
        admin_addr,
        channel,
        tls,
        shutdown: Some(shutdown),
        server,
        _store_dir: store_dir,
    };
    let mut updates = test_app.watch("").await;
    while next_status(&mut updates).await != ServingStatus::Serving {}
    test_app
}

/// An endpoint for `addr`, over TLS when `tls` is given.
pub(crate) fn endpoint(addr: SocketAddr, tls: Option<&ClientTlsConfig>) -> Endpoint {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::from_shared(format!("{scheme}://{addr}")).expect("valid uri");
    match tls {
        Some(tls) => endpoint
            .tls_config(tls.clone())
            .expect("valid TLS settings"),
        None => endpoint,
    }
}

/// A Watch stream of health statuses.
pub(crate) type StatusStream = tonic::Streaming<tonic_health::pb::HealthCheckResponse>;

/// The next status on a Watch stream, within [`BOUND`].
pub(crate) async fn next_status(updates: &mut StatusStream) -> ServingStatus {
    bounded(updates.next())
        .await
        .expect("the watch stream stays open")
        .expect("the watch stream yields statuses")
        .status()
}

/// Awaits `future`, failing the test if it takes longer than [`BOUND`].
pub(crate) async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(BOUND, future)
        .await
        .expect("finished within the bound")
}

impl TestApp {
    pub(crate) fn users(&self) -> UsersClient<Channel> {
        UsersClient::new(self.channel.clone())
    }

    pub(crate) fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    pub(crate) async fn list_user(&self, id: i32, name: &str) -> Result<UserResponse, Status> {
        let request = UserRequest {
            id,
            name: name.to_owned(),
        };
        bounded(self.users().list_user(request))
            .await
            .map(Response::into_inner)
    }

    pub(crate) async fn check(&self, service: &str) -> Result<ServingStatus, Status> {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        bounded(self.health().check(request))
            .await
            .map(|response| response.into_inner().status())
    }

    pub(crate) async fn watch(&self, service: &str) -> StatusStream {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        bounded(self.health().watch(request))
            .await
            .expect("watch is accepted")
            .into_inner()
    }

    /// Starts the shutdown sequence, as a signal would.
    pub(crate) fn trigger_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Waits for the server future to return, within `bound`.
    pub(crate) async fn stopped(self, bound: Duration) -> anyhow::Result<()> {
        tokio::time::timeout(bound, self.server)
            .await
            .expect("the server stops within the bound")
            .expect("the server task did not panic")
    }
}

/// Calls `path` with a ListUser-shaped message, expecting an error.
pub(crate) async fn call_raw(app: &TestApp, path: &'static str) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    bounded(grpc.ready()).await.expect("channel ready");
    let codec = tonic_prost::ProstCodec::<UserRequest, UserResponse>::default();
    let request = tonic::Request::new(UserRequest {
        id: 1,
        name: "x".to_owned(),
    });
    bounded(grpc.unary(request, http::uri::PathAndQuery::from_static(path), codec))
        .await
        .expect_err("unknown methods fail")
}
