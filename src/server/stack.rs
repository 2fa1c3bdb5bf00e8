//! The one place the gRPC services and the layers around them are built.
//! The server serves what this builds; tests and fuzz targets call the same
//! function and drive the result in-process.
use std::{convert::Infallible, sync::Arc};

use anyhow::Context;
use tokio::sync::watch;
use tonic::service::{Routes, RoutesBuilder};

use super::{HealthSwitch, reflection};
use crate::{
    auth::Authenticator,
    directory::{Directory, PageTokens, UserStore},
    layers::{AdmissionLayer, AuthLayer, ObserveLayer},
    proto::{
        users_server::{Users, UsersServer},
        v1::user_service_server::UserServiceServer,
    },
    settings::Settings,
    telemetry::RpcMetrics,
};

/// What the services are built from.
#[derive(Debug)]
pub struct Parts<U> {
    /// The legacy `user.Users` implementation (normally
    /// [`crate::users::LegacyUsers`] with the configured limits).
    pub legacy: U,
    /// The directory's store (already instrumented).
    pub store: Arc<dyn UserStore>,
    /// Signs page tokens.
    pub page_tokens: PageTokens,
    /// Health statuses.
    pub health: HealthSwitch,
    /// Turns true when the server drains (ends health Watch streams).
    pub draining: watch::Receiver<bool>,
    /// Call metrics, when something reads them.
    pub metrics: Option<RpcMetrics>,
}

/// The services and the layers around them, outermost first.
#[derive(Debug)]
pub struct Stack {
    /// Health, `user.Users`, `user.v1.UserService` and reflection.
    pub routes: Routes,
    /// Spans, call metrics and the debug line (left out when inactive).
    pub observe: ObserveLayer,
    /// Panics, not-gRPC refusal, deadline, shedding, message sizes.
    pub admission: AdmissionLayer,
    /// Who may call (passes everything through with `auth.mode = none`).
    pub auth: AuthLayer,
}

/// Builds every service the settings ask for and the layers around them.
pub fn build<U: Users>(settings: &Settings, parts: Parts<U>) -> anyhow::Result<Stack> {
    let limits = &settings.limits;
    let mut routes = RoutesBuilder::default();
    routes.add_service(
        parts
            .health
            .service(parts.draining)
            .max_decoding_message_size(limits.decoding_limit())
            .max_encoding_message_size(limits.encoding_limit()),
    );
    routes.add_service(
        UsersServer::new(parts.legacy)
            .max_decoding_message_size(limits.decoding_limit())
            .max_encoding_message_size(limits.encoding_limit()),
    );
    let directory = Directory::new(parts.store, parts.page_tokens, settings.store.purge_after);
    routes.add_service(
        UserServiceServer::new(directory)
            .max_decoding_message_size(limits.decoding_limit())
            .max_encoding_message_size(limits.encoding_limit()),
    );
    let authenticator = Authenticator::from_settings(
        &settings.auth,
        parts.metrics.as_ref().map(RpcMetrics::registry),
    )
    .context("cannot set up authentication ([auth])")?;
    if settings.server.reflection {
        reflection::add_reflection(&mut routes, limits).context("cannot build reflection")?;
    }
    Ok(Stack {
        routes: routes.routes(),
        observe: ObserveLayer::new(
            settings.telemetry.trace_health_and_reflection,
            parts.metrics,
        ),
        admission: AdmissionLayer::new(limits.request_timeout, limits.max_concurrent_calls),
        auth: AuthLayer::new(authenticator),
    })
}

/// A whole stack as one service, as a client's calls meet it.
pub type InProcess = tower::util::BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    Infallible,
>;

impl Stack {
    /// The layers around the routes, in-process: for tests and fuzz
    /// targets, which drive requests without a socket.
    pub fn into_service(self) -> InProcess {
        use tower::Layer;
        let inner = self.admission.layer(self.auth.layer(self.routes));
        match self.observe.is_active() {
            true => boxed(self.observe.layer(inner)),
            false => boxed(inner),
        }
    }
}

fn boxed<S, B>(service: S) -> InProcess
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use tower::ServiceExt;
    InProcess::new(service.map_response(|response| response.map(tonic::body::Body::new)))
}
