//! Counts and times every call into [`RpcMetrics`].
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use tonic::Code;
use tower::{Layer, Service};

use super::{
    completion::{CallObserver, CompletionBody, observe},
    rpc::{Method, RpcPath},
};
use crate::telemetry::RpcMetrics;

/// Wraps services in [`RecordMetrics`].
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Option<RpcMetrics>,
}

impl MetricsLayer {
    /// Records into `metrics`; with `None` (nothing would ever read them:
    /// no `/metrics` endpoint, no OTLP export) calls pass through.
    pub fn new(metrics: Option<RpcMetrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = RecordMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecordMetrics {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// Counts the call when it starts, and its code and duration when it ends.
#[derive(Debug, Clone)]
pub struct RecordMetrics<S> {
    inner: S,
    metrics: Option<RpcMetrics>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RecordMetrics<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<CompletionBody<ResBody, CallMetrics>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let Some(metrics) = &self.metrics else {
            let future = self.inner.call(request);
            return Box::pin(async move { Ok(observe(future.await?, None)) });
        };
        let method = RpcPath::parse(request.uri().path()).known();
        metrics.started(method);
        let observer = CallMetrics {
            metrics: metrics.clone(),
            method,
            started: Instant::now(),
        };
        let future = self.inner.call(request);
        Box::pin(async move { Ok(observe(future.await?, Some(observer))) })
    }
}

/// Records a call's end.
#[derive(Debug)]
pub struct CallMetrics {
    metrics: RpcMetrics,
    method: &'static Method,
    started: Instant,
}

impl CallObserver for CallMetrics {
    fn finish(self, code: Code) {
        self.metrics
            .handled(self.method, code, self.started.elapsed());
    }
}
