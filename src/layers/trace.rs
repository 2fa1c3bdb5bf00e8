//! One OpenTelemetry SERVER span per call, named and attributed the way the
//! opentelemetry-go `otelgrpc` instrumentation does, so existing Jaeger and
//! Grafana queries work; its `traceparent` goes back in the response.
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use opentelemetry::{
    global,
    propagation::TextMapPropagator,
    trace::{Status as SpanStatus, TraceContextExt},
};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::{
    Code,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};
use tower::{Layer, Service};
use tracing::{Instrument, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{
    completion::{CallObserver, CompletionBody, observe},
    rpc::{RpcPath, code_name},
};
use crate::telemetry::{self, RPC_SPAN_TARGET};

/// Wraps services in [`Trace`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer {
    traces: bool,
    trace_infrastructure: bool,
}

impl TraceLayer {
    /// Traces calls when the process has OpenTelemetry set up;
    /// `trace_infrastructure` also traces health and reflection calls.
    pub fn new(trace_infrastructure: bool) -> Self {
        register_span_callsite();
        Self {
            traces: telemetry::traces_enabled(),
            trace_infrastructure,
        }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Trace {
            inner,
            layer: *self,
        }
    }
}

/// Opens the call's span (a child of the caller's, when it sent one) and
/// closes it with the final status once the response body ends.
#[derive(Debug, Clone)]
pub struct Trace<S> {
    inner: S,
    layer: TraceLayer,
}

/// The codes that mean the server failed, as otelgrpc marks them; the rest
/// (NOT_FOUND, INVALID_ARGUMENT, …) are the client's business.
fn is_server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Trace<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<CompletionBody<ResBody, CallTrace>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let rpc = RpcPath::parse(request.uri().path());
        let traced =
            self.layer.traces && (self.layer.trace_infrastructure || !rpc.is_infrastructure());
        // Without a span or a debug log line to feed, stay out of the way.
        if !traced && !tracing::enabled!(tracing::Level::DEBUG) {
            let future = self.inner.call(request);
            return Box::pin(async move { Ok(observe(future.await?, None)) });
        }
        let span = if traced {
            server_span(&request, rpc)
        } else {
            Span::none()
        };
        let observer = CallTrace {
            span: span.clone(),
            path: request.uri().path().to_owned(),
            started: Instant::now(),
        };
        let future = self.inner.call(request).instrument(span);
        Box::pin(async move {
            let mut response = future.await?;
            let context = observer.span.context();
            if context.span().span_context().is_valid() {
                TraceContextPropagator::new()
                    .inject_context(&context, &mut HeaderInjector(response.headers_mut()));
            }
            Ok(observe(response, Some(observer)))
        })
    }
}

fn server_span<B>(request: &http::Request<B>, rpc: RpcPath<'_>) -> Span {
    // Made current before the span exists, so the span joins the caller's trace.
    let parent = global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    let _parent = parent.attach();
    let span = open_span(rpc);
    // Under TLS the TCP details sit inside the TLS connection info.
    let extensions = request.extensions();
    let connection = extensions.get::<TcpConnectInfo>().or_else(|| {
        extensions
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .map(TlsConnectInfo::get_ref)
    });
    if let Some(connection) = connection {
        if let Some(local) = connection.local_addr() {
            span.set_attribute("server.address", local.ip().to_string());
            span.set_attribute("server.port", i64::from(local.port()));
        }
        if let Some(peer) = connection.remote_addr() {
            span.set_attribute("network.peer.address", peer.ip().to_string());
            span.set_attribute("network.peer.port", i64::from(peer.port()));
        }
    }
    span
}

/// The one place call spans are created.
fn open_span(rpc: RpcPath<'_>) -> Span {
    // ERROR level: log filters decide which events print, but the span must
    // exist whenever any event inside it prints. Only cheap fields here: log
    // lines copy them; the rest goes to the OpenTelemetry span alone.
    tracing::error_span!(
        target: RPC_SPAN_TARGET,
        "rpc",
        otel.name = %format_args!("{}/{}", rpc.service, rpc.method),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = rpc.service,
        rpc.method = rpc.method,
    )
}

/// Registers the span's callsite before any call arrives. Registered lazily
/// by concurrent first calls instead, per-layer filters can miss the first
/// spans (left disabled, or unseen by OpenTelemetry). Done under a no-op
/// subscriber, so the warm-up span itself goes nowhere.
fn register_span_callsite() {
    let none = tracing::subscriber::NoSubscriber::default();
    tracing::subscriber::with_default(none, || drop(open_span(RpcPath::parse("/"))));
}

/// Ends the call's span with its status and logs the call at debug level.
#[derive(Debug)]
pub struct CallTrace {
    span: Span,
    path: String,
    started: Instant,
}

impl CallObserver for CallTrace {
    fn finish(self, code: Code) {
        if !self.span.is_disabled() {
            self.span
                .set_attribute("rpc.grpc.status_code", i64::from(code as i32));
            if is_server_error(code) {
                self.span.set_status(SpanStatus::error(code_name(code)));
            }
        }
        let _inside = self.span.enter();
        tracing::debug!(
            rpc.path = %self.path,
            rpc.grpc.status_code = code as i32,
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            "rpc.call"
        );
    }
}
