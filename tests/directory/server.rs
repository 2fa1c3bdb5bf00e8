//! The real server on 127.0.0.1 port 0 over a real SQLite file, started like
//! production starts it (`Application::build_with` + `run_until`), and
//! ready only once `user.v1.UserService` reports SERVING.
use std::{net::SocketAddr, path::PathBuf, time::Duration};

use futures::StreamExt;
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use user_service::{
    proto::v1::user_service_client::UserServiceClient, server::Application, settings::Settings,
    users::LegacyUsers,
};

/// How long any single wait may take before it counts as a hang.
pub(crate) const BOUND: Duration = Duration::from_secs(10);

/// A store file of its own in a temporary directory; several servers (one
/// after another, or side by side as replicas) may share it.
pub(crate) struct StoreFile {
    dir: tempfile::TempDir,
}

impl StoreFile {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("users.db")
    }

    /// Test settings (loopback, ephemeral ports, quick shutdown) over this file.
    pub(crate) fn settings(&self) -> Settings {
        test_settings(&format!("sqlite://{}", self.path().display()))
    }
}

/// Test settings (loopback, ephemeral ports, quick shutdown) over the store
/// `store_url` names.
pub(crate) fn test_settings(store_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.server.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.admin.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.shutdown.grace_period = Duration::from_millis(10);
    settings.shutdown.drain_timeout = Duration::from_secs(2);
    settings.store.url = store_url.to_owned();
    settings
}

/// A running server.
pub(crate) struct Server {
    pub(crate) admin_addr: Option<SocketAddr>,
    pub(crate) channel: Channel,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    /// The store of a server started by [`Server::fresh`].
    _file: Option<StoreFile>,
}

impl Server {
    /// A server over a store of its own, with test settings.
    pub(crate) async fn fresh() -> Self {
        let file = StoreFile::new();
        let mut server = Self::start(file.settings()).await;
        server._file = Some(file);
        server
    }

    /// A server with `settings` (whose store URL names the file to use).
    pub(crate) async fn start(settings: Settings) -> Self {
        let store = user_service::store::open(&settings.store)
            .await
            .expect("the store opens");
        let legacy = LegacyUsers::new(&settings.limits);
        let app = Application::build_with(settings, legacy, store)
            .await
            .expect("the server binds");
        let (addr, admin_addr) = (app.local_addr(), app.admin_addr());
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stop.await;
        }));
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("a valid uri")
            .timeout(BOUND)
            .connect_timeout(BOUND)
            .connect()
            .await
            .expect("the server accepts connections");
        let server = Self {
            admin_addr,
            channel,
            shutdown: Some(shutdown),
            task,
            _file: None,
        };
        server.wait_until_serving("user.v1.UserService").await;
        server
    }

    pub(crate) fn client(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.channel.clone())
    }

    pub(crate) fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    /// Waits (bounded) until health reports `service` SERVING.
    pub(crate) async fn wait_until_serving(&self, service: &str) {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let mut updates = self
            .health()
            .watch(request)
            .await
            .expect("watch is accepted")
            .into_inner();
        tokio::time::timeout(BOUND, async {
            while let Some(update) = updates.next().await {
                if update.expect("a status").status() == ServingStatus::Serving {
                    return;
                }
            }
            panic!("the watch stream ended before {service:?} was SERVING");
        })
        .await
        .unwrap_or_else(|_| panic!("{service:?} SERVING within {BOUND:?}"));
    }

    /// Shuts the server down and waits for it to stop (bounded).
    pub(crate) async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        tokio::time::timeout(BOUND, &mut self.task)
            .await
            .expect("the server stops within the bound")
            .expect("the server task did not panic")
            .expect("the server stopped cleanly");
    }
}

/// Polls `check` every 20 ms until it holds; false once `bound` passes.
pub(crate) async fn eventually<F, Fut>(bound: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
