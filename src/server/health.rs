//! `grpc.health.v1.Health` with the protocol's full rules: tonic-health keeps
//! the statuses; this wrapper adds what it lacks — Watch on an unknown name
//! answers SERVICE_UNKNOWN and stays open — and ends Watch streams once the
//! server drains, so they do not hold shutdown up.
//!
//! Statuses are kept per name: `""` and `user.Users` follow the process
//! (serving once started, not serving for good once shutdown begins);
//! `user.v1.UserService` also needs the store to answer.
use std::{pin::Pin, sync::Arc};

use futures::{Stream, StreamExt, future, stream};
use tokio::sync::{Mutex, watch};
use tonic::{Code, Request, Response, Status};
use tonic_health::{
    ServingStatus,
    pb::{
        HealthCheckRequest, HealthCheckResponse, health_check_response,
        health_server::{Health, HealthServer},
    },
    server::{HealthReporter, HealthService},
};

use crate::proto::{
    users_server::SERVICE_NAME as USERS_SERVICE,
    v1::user_service_server::SERVICE_NAME as DIRECTORY_SERVICE,
};

/// The names that follow the process alone: the whole server and `user.Users`.
pub const PROCESS_NAMES: [&str; 2] = ["", USERS_SERVICE];
/// The name that also follows the store.
pub const STORE_NAME: &str = DIRECTORY_SERVICE;
/// Every name health answers for.
pub const SERVICE_NAMES: [&str; 3] = ["", USERS_SERVICE, DIRECTORY_SERVICE];

/// What the statuses are derived from.
#[derive(Debug, Clone, Copy, Default)]
struct Inputs {
    started: bool,
    /// Sticky: once shutdown begins nothing serves again.
    stopping: bool,
    store_answers: bool,
}

/// The health statuses of every name, derived from the process's phase and
/// the store's reachability.
#[derive(Debug, Clone)]
pub struct HealthSwitch {
    reporter: HealthReporter,
    inputs: Arc<Mutex<Inputs>>,
}

impl HealthSwitch {
    /// Every name starts NOT_SERVING.
    pub async fn new() -> Self {
        let switch = Self {
            reporter: HealthReporter::new(),
            inputs: Arc::default(),
        };
        switch.apply(&Inputs::default()).await;
        switch
    }

    /// The server serves: process names go SERVING (the store name too,
    /// while the store answers). `NotServing` starts shutdown: every name
    /// goes NOT_SERVING for good.
    pub async fn set(&self, status: ServingStatus) {
        let mut inputs = self.inputs.lock().await;
        match status {
            ServingStatus::Serving => inputs.started = true,
            _ => inputs.stopping = true,
        }
        self.apply(&inputs).await;
    }

    /// Whether the store answers; only `user.v1.UserService` follows it.
    pub async fn set_store_answers(&self, answers: bool) {
        let mut inputs = self.inputs.lock().await;
        inputs.store_answers = answers;
        self.apply(&inputs).await;
    }

    async fn apply(&self, inputs: &Inputs) {
        let process = inputs.started && !inputs.stopping;
        let status = |serving: bool| match serving {
            true => ServingStatus::Serving,
            false => ServingStatus::NotServing,
        };
        for name in PROCESS_NAMES {
            self.reporter
                .set_service_status(name, status(process))
                .await;
        }
        self.reporter
            .set_service_status(STORE_NAME, status(process && inputs.store_answers))
            .await;
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
