//! The gRPC server: binds, serves users, health and reflection, and runs the
//! graceful shutdown sequence.

mod admin;
mod connection;
mod health;
mod listener;
mod reflection;
pub mod signals;
mod transport;

use std::{future::Future, net::SocketAddr, pin::Pin};

use anyhow::Context;
use tokio::{
    net::TcpListener,
    sync::{oneshot, watch},
};
use tonic::{
    service::{Routes, RoutesBuilder},
    transport::Server,
};
use tonic_health::ServingStatus;

pub use health::{HealthSwitch, SERVICE_NAMES};

use crate::{
    layers::{AdmissionLayer, ObserveLayer},
    proto::users_server::{Users, UsersServer},
    settings::{LimitsSettings, Settings, ShutdownSettings},
    telemetry::RpcMetrics,
    users::{LimitedUsers, UserDirectory},
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
    /// Served on the admin endpoint.
    metrics: RpcMetrics,
    admin: Option<TcpListener>,
    limits: LimitsSettings,
    transport: Server,
}

impl Application {
    /// Binds the configured address with the real Users service.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, UserDirectory).await
    }

    /// Binds the configured address, serving `users` as `user.Users` (tests
    /// pass implementations that fail on purpose).
    pub async fn build_with<U: Users>(settings: Settings, users: U) -> anyhow::Result<Self> {
        let transport = transport::server(&settings)?;
        let limits = settings.limits;
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
        let health = HealthSwitch::new().await;
        let (draining, draining_rx) = watch::channel(false);

        let mut routes = RoutesBuilder::default();
        routes.add_service(
            health
                .service(draining_rx)
                .max_decoding_message_size(limits.decoding_limit())
                .max_encoding_message_size(limits.encoding_limit()),
        );
        routes.add_service(
            UsersServer::new(LimitedUsers::new(users, limits.name_length_limit()))
                .max_decoding_message_size(limits.decoding_limit())
                .max_encoding_message_size(limits.encoding_limit()),
        );
        if settings.server.reflection {
            reflection::add_reflection(&mut routes, &limits).context("cannot build reflection")?;
        }
        Ok(Self {
            listener,
            local_addr,
            shutdown: settings.shutdown,
            health,
            draining,
            routes: routes.routes(),
            observe: ObserveLayer::new(
                settings.telemetry.trace_health_and_reflection,
                (admin.is_some() || crate::telemetry::metrics_exported()).then(|| metrics.clone()),
            ),
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
        let admission = AdmissionLayer::new(
            self.limits.request_timeout,
            self.limits.max_concurrent_calls,
        );
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
                    .layer(admission);
                Box::pin(
                    self.transport
                        .layer(layers)
                        .add_routes(self.routes)
                        .serve_with_incoming_shutdown(incoming, stopped_accepting),
                )
            } else {
                Box::pin(
                    self.transport
                        .layer(admission)
                        .add_routes(self.routes)
                        .serve_with_incoming_shutdown(incoming, stopped_accepting),
                )
            };

        self.health.set(ServingStatus::Serving).await;
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            addr = %self.local_addr,
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
