//! Load shedding: one server-wide limit on calls in progress. A call beyond
//! it is answered RESOURCE_EXHAUSTED at once, so nothing queues without
//! bound and nothing hangs; capacity frees the moment a call ends.
//!
//! Health and reflection calls are exempt, so probes and load balancers keep
//! seeing the truth (SERVING, not failures) while the server sheds load.
//! tonic's own `concurrency_limit_per_connection` + `load_shed` would limit
//! each connection separately and answer UNAVAILABLE through an error.
use std::{
    sync::Arc,
    task::{Context, Poll},
};

use tokio::sync::Semaphore;
use tonic::Code;
use tower::{Layer, Service};

use super::{BoxFuture, answer_now};
use crate::errors;

/// Path prefixes of the calls that are never shed.
const EXEMPT_PREFIXES: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];

/// Wraps services in [`LoadShed`], all sharing one limit.
#[derive(Debug, Clone)]
pub struct LoadShedLayer {
    permits: Arc<Semaphore>,
}

impl LoadShedLayer {
    /// At most `max_concurrent_calls` calls in progress, server-wide.
    pub fn new(max_concurrent_calls: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent_calls)),
        }
    }
}

impl<S> Layer<S> for LoadShedLayer {
    type Service = LoadShed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LoadShed {
            inner,
            permits: Arc::clone(&self.permits),
        }
    }
}

/// Answers RESOURCE_EXHAUSTED when the server-wide limit is reached.
#[derive(Debug, Clone)]
pub struct LoadShed<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for LoadShed<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if EXEMPT_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
        {
            return Box::pin(self.inner.call(request));
        }
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => {
                let call = self.inner.call(request);
                Box::pin(async move {
                    let response = call.await;
                    drop(permit);
                    response
                })
            }
            Err(_) => {
                tracing::debug!(rpc.path = path, "call.shed");
                let status = errors::status(
                    Code::ResourceExhausted,
                    "server overloaded: too many calls in progress, retry later",
                    "OVERLOADED",
                );
                answer_now(status.into_http())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Status;
    use tower::{ServiceExt, service_fn};

    use super::*;

    type Body = tonic::body::Body;

    async fn status_of(layer: &LoadShedLayer, path: &str) -> Option<Status> {
        let inner = service_fn(|_: http::Request<Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::default()))
        });
        let request = http::Request::post(path)
            .body(Body::default())
            .expect("request");
        let response = layer
            .layer(inner)
            .oneshot(request)
            .await
            .expect("infallible");
        Status::from_header_map(response.headers())
    }

    #[tokio::test]
    async fn a_full_server_sheds_calls_but_not_health_or_reflection() {
        let full = LoadShedLayer::new(0);
        let shed = status_of(&full, "/user.Users/ListUser")
            .await
            .expect("shed");
        assert_eq!(shed.code(), Code::ResourceExhausted);
        for exempt in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(status_of(&full, exempt).await.is_none(), "{exempt}");
        }
    }
}
