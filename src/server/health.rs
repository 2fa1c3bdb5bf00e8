//! `grpc.health.v1.Health` with the protocol's full rules: tonic-health keeps
//! the statuses; this wrapper adds what it lacks — Watch on an unknown name
//! answers SERVICE_UNKNOWN and stays open — and ends Watch streams once the
//! server drains, so they do not hold shutdown up.
use std::pin::Pin;

use futures::{Stream, StreamExt, future, stream};
use tokio::sync::watch;
use tonic::{Code, Request, Response, Status};
use tonic_health::{
    ServingStatus,
    pb::{
        HealthCheckRequest, HealthCheckResponse, health_check_response,
        health_server::{Health, HealthServer},
    },
    server::{HealthReporter, HealthService},
};

use crate::proto::users_server::SERVICE_NAME as USERS_SERVICE;

/// The names health answers for: the whole server and `user.Users`.
pub const SERVICE_NAMES: [&str; 2] = ["", USERS_SERVICE];

/// Sets the status of every name at once; the server is only ever healthy or
/// unhealthy as a whole.
#[derive(Debug, Clone)]
pub struct HealthSwitch {
    reporter: HealthReporter,
}

impl HealthSwitch {
    /// Every name starts NOT_SERVING.
    pub async fn new() -> Self {
        let switch = Self {
            reporter: HealthReporter::new(),
        };
        switch.set(ServingStatus::NotServing).await;
        switch
    }

    /// Sets every name to `status`; Watch streams see the change.
    pub async fn set(&self, status: ServingStatus) {
        for name in SERVICE_NAMES {
            self.reporter.set_service_status(name, status).await;
        }
    }

    /// The gRPC service; its Watch streams end once `draining` turns true.
    pub(crate) fn service(&self, draining: watch::Receiver<bool>) -> HealthServer<HealthApi> {
        HealthServer::new(HealthApi {
            inner: HealthService::from_health_reporter(self.reporter.clone()),
            draining,
        })
    }
}

/// The served Health implementation.
#[derive(Debug)]
pub(crate) struct HealthApi {
    inner: HealthService,
    draining: watch::Receiver<bool>,
}

type WatchResponses = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for HealthApi {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = WatchResponses;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let updates: WatchResponses = match self.inner.watch(request).await {
            Ok(response) => Box::pin(response.into_inner()),
            Err(status) if status.code() == Code::NotFound => Box::pin(service_unknown()),
            Err(status) => return Err(status),
        };
        let mut draining = self.draining.clone();
        let drained = async move {
            // A dropped sender means the server is gone: end the stream too.
            let _ = draining.wait_for(|draining| *draining).await;
        };
        Ok(Response::new(Box::pin(
            updates.take_until(Box::pin(drained)),
        )))
    }
}

/// One SERVICE_UNKNOWN, then silence: the name may be registered later, so the
/// protocol keeps the stream open rather than failing it.
fn service_unknown() -> impl Stream<Item = Result<HealthCheckResponse, Status>> {
    let unknown = HealthCheckResponse {
        status: health_check_response::ServingStatus::ServiceUnknown as i32,
    };
    stream::once(future::ready(Ok(unknown))).chain(stream::pending())
}
