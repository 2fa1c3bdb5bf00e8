//! The gRPC server: binds, serves users, health and reflection, and runs the
//! graceful shutdown sequence.

mod admin;
mod connection;
mod health;
mod listener;
mod reflection;
pub mod signals;
pub mod stack;
mod store_tasks;
mod transport;

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc};

use anyhow::Context;
use tokio::{
    net::TcpListener,
    sync::{oneshot, watch},
};
use tonic::{service::Routes, transport::Server};
use tonic_health::ServingStatus;

pub use health::{HealthSwitch, PROCESS_NAMES, SERVICE_NAMES, STORE_NAME};

use crate::{
    directory::{PageTokens, UserStore},
    layers::{AdmissionLayer, AuthLayer, ObserveLayer},
    proto::users_server::Users,
    settings::{LimitsSettings, Settings, ShutdownSettings, StoreSettings},
    store::{Instrumented, StoreMetrics},
    telemetry::RpcMetrics,
    users::LegacyUsers,
};

/// A bound, ready-to-run server. Building binds the port, so tests can bind
/// port 0 and read the real one from [`Application::local_addr`].
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    shutdown: ShutdownSettings,
    health: HealthSwitch,
    draining: watch::Sender<bool>,
    routes: Routes,
    /// Spans, call metrics (only when something reads them: the admin
    /// endpoint or OTLP metrics) and the debug line of every call.
    observe: ObserveLayer,
    admission: AdmissionLayer,
    auth: AuthLayer,
    /// The directory's store, for health checks and the purge sweep.
    store: Arc<dyn UserStore>,
    store_settings: StoreSettings,
    /// Served on the admin endpoint.
    metrics: RpcMetrics,
    admin: Option<TcpListener>,
    limits: LimitsSettings,
    transport: Server,
}

impl Application {
    /// Opens the configured store and binds the configured address.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = crate::store::open(&settings.store)
            .await
            .context("cannot open the store named by store.url")?;
        let legacy = LegacyUsers::new(&settings.limits);
        Self::build_with(settings, legacy, store).await
    }

    /// Binds the configured address, serving `legacy` as `user.Users` and
    /// the directory over `store` (tests pass implementations that fail on
    /// purpose, or a store of their choosing).
    pub async fn build_with<U: Users>(
        settings: Settings,
        legacy: U,
        store: Arc<dyn UserStore>,
    ) -> anyhow::Result<Self> {
        let transport = transport::server(&settings)?;
        let limits = settings.limits.clone();
        let addr = settings.server.addr;
        let listener = listener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        let local_addr = listener.local_addr()?;
        let admin = match settings.admin.enabled {
            true => {
                let addr = settings.admin.addr;
                Some(
                    listener::bind(addr)
                        .with_context(|| format!("cannot listen on {addr} (admin)"))?,
                )
            }
            false => None,
        };
        let metrics = RpcMetrics::new().context("cannot register metrics")?;
        let store_metrics = StoreMetrics::register(metrics.registry(), store.clone())
            .context("cannot register store metrics")?;
        let store: Arc<dyn UserStore> = Arc::new(Instrumented::new(
            store,
            settings.store.timeout,
            Some(store_metrics),
        ));
        let page_tokens = page_tokens(&settings, store.as_ref()).await?;
        let health = HealthSwitch::new().await;
        // The store's first answer decides its first status.
        health.set_store_answers(store.ping().await.is_ok()).await;
        let (draining, draining_rx) = watch::channel(false);
        let recording = admin.is_some() || crate::telemetry::metrics_exported();
        let stack = stack::build(
            &settings,
            stack::Parts {
                legacy,
                store: store.clone(),
                page_tokens,
                health: health.clone(),
                draining: draining_rx,
                metrics: recording.then(|| metrics.clone()),
            },
        )?;
        Ok(Self {
            listener,
            local_addr,
            shutdown: settings.shutdown,
            health,
            draining,
            routes: stack.routes,
            observe: stack.observe,
            admission: stack.admission,
            auth: stack.auth,
            store,
            store_settings: settings.store,
            metrics,
            admin,
            limits,
            transport,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the admin HTTP server (`/metrics`) bound, when enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The health statuses this server reports.
    pub fn health(&self) -> &HealthSwitch {
        &self.health
    }

    /// Serves until `shutdown` completes, then: every health name goes
    /// NOT_SERVING (for good), calls are still served for the grace period,
    /// accepting stops, and in-flight calls get the drain timeout to finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        // Read before the listeners move into their servers.
        let dual_stack = listener::is_dual_stack(&self.listener);
        let admin_addr = self.admin_addr();
        let admin_dual_stack = self.admin.as_ref().map(listener::is_dual_stack);
        let (stop_accepting, stop_accepting_rx) = oneshot::channel::<()>();
        // Accepting ends on `stop_accepting`, with the accept queue served,
        // not reset (see `listener::Incoming`). When that stream ends,
        // tonic sends every connection its GOAWAY; it does so only when
        // given a shutdown signal, hence one that never fires.
        let incoming = listener::Incoming::new(
            self.listener,
            Box::pin(async {
                let _ = stop_accepting_rx.await;
            }),
        );
        let incoming = connection::limit(incoming, &self.limits);
        let (stop_admin, stop_admin_rx) = oneshot::channel::<()>();
        if let Some(listener) = self.admin {
            let stopped = async {
                let _ = stop_admin_rx.await;
            };
            let metrics = self.metrics.clone();
            tokio::spawn(async move {
                if let Err(err) = admin::serve(listener, metrics, stopped).await {
                    tracing::error!(error = %err, "admin.failed");
                }
            });
        }
        let admission = self.admission;
        let store_health = tokio::spawn(store_tasks::follow_store(
            self.store.clone(),
            self.health.clone(),
            self.store_settings.health_interval,
        ));
        let purge = tokio::spawn(store_tasks::purge(
            self.store.clone(),
            self.store_settings.clone(),
        ));
        let _background = AbortOnDrop([store_health, purge]);
        // Never fires: accepting ends with `incoming` (see above).
        let stopped_accepting = std::future::pending::<()>();
        // Two shapes of the same server, boxed once for its whole life (not
        // per call). Outermost first: the span and the metrics
        // see every answer, panics and limit refusals included. When nothing
        // could be recorded, observing is left out, not run as a no-op.
        let mut server: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
            if self.observe.is_active() {
                let layers = tower::ServiceBuilder::new()
                    .layer(self.observe)
                    .layer(admission)
                    .layer(self.auth);
                Box::pin(
                    self.transport
                        .layer(layers)
                        .add_routes(self.routes)
                        .serve_with_incoming_shutdown(incoming, stopped_accepting),
                )
            } else {
                let layers = tower::ServiceBuilder::new()
                    .layer(admission)
                    .layer(self.auth);
                Box::pin(
                    self.transport
                        .layer(layers)
                        .add_routes(self.routes)
                        .serve_with_incoming_shutdown(incoming, stopped_accepting),
                )
            };

        self.health.set(ServingStatus::Serving).await;
        // `addr` alone reads `[::]:50051` for the default `0.0.0.0:50051`,
        // which looks IPv6-only; `dual_stack` says IPv4 clients reach it too.
        // The admin fields are absent when the admin server is off.
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            addr = %self.local_addr,
            dual_stack,
            admin_addr = admin_addr.map(tracing::field::display),
            admin_dual_stack,
            "server.started"
        );

        tokio::select! {
            result = &mut server => return result.context("server stopped unexpectedly"),
            () = shutdown => {}
        }

        self.health.set(ServingStatus::NotServing).await;
        tracing::info!(
            grace_period = %humantime::format_duration(self.shutdown.grace_period),
            "shutdown.not_serving: health reports NOT_SERVING, still serving calls"
        );
        tokio::select! {
            result = &mut server => return result.context("server stopped unexpectedly"),
            () = tokio::time::sleep(self.shutdown.grace_period) => {}
        }

        tracing::info!(
            drain_timeout = %humantime::format_duration(self.shutdown.drain_timeout),
            "shutdown.draining: stopped accepting, waiting for in-flight calls"
        );
        let _ = stop_accepting.send(());
        let _ = self.draining.send(true);
        match tokio::time::timeout(self.shutdown.drain_timeout, &mut server).await {
            Ok(result) => {
                result.context("server failed while draining")?;
                tracing::info!("shutdown.drained: every call finished");
            }
            Err(_) => tracing::warn!("shutdown.drain_timeout: calls still running were cut off"),
        }
        let _ = stop_admin.send(());
        Ok(())
    }
}

/// The page-token signer: the configured secret, or the one kept in the
/// store (made on first start), so tokens outlive restarts either way.
async fn page_tokens(settings: &Settings, store: &dyn UserStore) -> anyhow::Result<PageTokens> {
    let configured = settings.directory.page_token_secret.expose();
    let secret = match configured.is_empty() {
        true => store
            .shared_secret()
            .await
            .context("cannot read the page-token secret from the store")?,
        false => configured.as_bytes().to_vec(),
    };
    Ok(PageTokens::new(
        &secret,
        settings.directory.page_token_lifetime,
    ))
}

/// Ends the server's background tasks when serving ends, however it ends.
struct AbortOnDrop<const N: usize>([tokio::task::JoinHandle<()>; N]);

impl<const N: usize> Drop for AbortOnDrop<N> {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
