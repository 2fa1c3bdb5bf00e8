//! Turns a panicking handler into a gRPC INTERNAL answer, so one bad call
//! neither kills its connection nor reaches the client as an HTTP 500.
use std::{
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    task::{Context, Poll},
};

use futures::FutureExt;
use opentelemetry::KeyValue;
use tonic::Status;
use tower::{Layer, Service};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::telemetry::panic_message;

/// Wraps services in [`CatchPanic`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}

/// Answers INTERNAL (trailers-only, no panic text) when the inner call panics.
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for CatchPanic<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // A clone of the URI shares its bytes: no copy per call for a log line
        // that is rarely written.
        let uri = request.uri().clone();
        // A panic while building the future is caught just like one inside it.
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)));
        Box::pin(async move {
            let outcome = match future {
                Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
                Err(payload) => Err(payload),
            };
            outcome.unwrap_or_else(|payload| {
                let message = panic_message(payload.as_ref());
                tracing::error!(
                    rpc.path = %uri.path(),
                    panic.message = %message,
                    "call panicked; answered INTERNAL"
                );
                // The OpenTelemetry exception convention, on the call's span.
                tracing::Span::current().add_event(
                    "exception",
                    vec![
                        KeyValue::new("exception.type", "panic"),
                        KeyValue::new("exception.message", message.to_owned()),
                    ],
                );
                Ok(Status::internal("internal error").into_http())
            })
        })
    }
}
