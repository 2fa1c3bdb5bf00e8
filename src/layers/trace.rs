//! One OpenTelemetry SERVER span per call, named and attributed the way the
//! opentelemetry-go `otelgrpc` instrumentation does, so existing Jaeger and
//! Grafana queries work; its `traceparent` goes back in the response.
use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use opentelemetry::{
    global,
    propagation::TextMapPropagator,
    trace::{SpanContext, Status as SpanStatus, TraceContextExt, TraceFlags, TraceState},
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
    rpc::{CATALOG, RpcPath, code_name},
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

impl TraceLayer {
    /// False when no call could ever be traced or logged at debug level
    /// (OpenTelemetry off and no subscriber above INFO): the server then
    /// leaves this layer out altogether.
    pub fn is_active(&self) -> bool {
        self.traces
            || tracing::level_filters::LevelFilter::current()
                >= tracing::level_filters::LevelFilter::DEBUG
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
        let log_call = tracing::enabled!(tracing::Level::DEBUG);
        // Without a span or a debug log line to feed, stay out of the way.
        if !traced && !log_call {
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
            // Only the debug line needs it: no copy per call otherwise.
            path: log_call.then(|| request.uri().path().to_owned()),
            started: Instant::now(),
        };
        let future = self.inner.call(request).instrument(span);
        Box::pin(async move {
            let mut response = future.await?;
            if traced {
                let context = observer.span.context();
                inject_traceparent(context.span().span_context(), response.headers_mut());
            }
            Ok(observe(response, Some(observer)))
        })
    }
}

/// Echoes the call's `traceparent` (and `tracestate`, when there is one).
/// The common case is formatted by hand: this runs on every traced call.
fn inject_traceparent(span_context: &SpanContext, headers: &mut http::HeaderMap) {
    if !span_context.is_valid() {
        return;
    }
    if *span_context.trace_state() != TraceState::NONE {
        let context = opentelemetry::Context::new().with_remote_span_context(span_context.clone());
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
        return;
    }
    let mut value = [0_u8; 55];
    value[..3].copy_from_slice(b"00-");
    hex_into(&span_context.trace_id().to_bytes(), &mut value[3..35]);
    value[35] = b'-';
    hex_into(&span_context.span_id().to_bytes(), &mut value[36..52]);
    value[52] = b'-';
    hex_into(
        &[(span_context.trace_flags() & TraceFlags::SAMPLED).to_u8()],
        &mut value[53..55],
    );
    if let Ok(value) = http::HeaderValue::from_bytes(&value) {
        headers.insert("traceparent", value);
    }
}

/// Lower-case hex of `bytes` into `out` (twice as long).
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

fn server_span<B>(request: &http::Request<B>, rpc: RpcPath<'_>) -> Span {
    // Made current before the span exists, so the span joins the caller's
    // trace. Most calls carry no context: skip the propagators for them.
    let headers = request.headers();
    let carries_context = headers.contains_key("traceparent") || headers.contains_key("baggage");
    let _parent = carries_context.then(|| {
        global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
            .attach()
    });
    // Under TLS the TCP details sit inside the TLS connection info.
    let extensions = request.extensions();
    let connection = extensions.get::<TcpConnectInfo>().or_else(|| {
        extensions
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .map(TlsConnectInfo::get_ref)
    });
    open_span(
        rpc,
        Ends {
            local: connection.and_then(TcpConnectInfo::local_addr),
            peer: connection.and_then(TcpConnectInfo::remote_addr),
        },
    )
}

/// The two ends of the call's connection, when known.
#[derive(Debug, Default, Clone, Copy)]
struct Ends {
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
}

/// A call span with a static name: the OpenTelemetry span takes its name
/// from the callsite without formatting or allocating, and log lines read
/// `rpc.service`/`rpc.method` back from it (telemetry::logs).
/// The connection's ends are fields too: recorded once, as the span opens,
/// instead of one subscriber lookup per attribute afterwards.
macro_rules! method_span {
    ($name:literal, $service:expr, $method:expr, $ends:expr) => {
        // ERROR level: log filters decide which events print, but the span
        // must exist whenever any event inside it prints.
        tracing::error_span!(
            target: RPC_SPAN_TARGET,
            $name,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = $service,
            rpc.method = $method,
            server.address = $ends.local.map(|a| tracing::field::display(a.ip())),
            server.port = $ends.local.map(|a| i64::from(a.port())),
            network.peer.address = $ends.peer.map(|a| tracing::field::display(a.ip())),
            network.peer.port = $ends.peer.map(|a| i64::from(a.port())),
        )
    };
}

/// The one place call spans are created: one callsite per served method,
/// one shared callsite (named at run time) for everything else.
fn open_span(rpc: RpcPath<'_>, ends: Ends) -> Span {
    let method = rpc.known();
    let (service, name) = (method.service, method.method);
    match method.index {
        0 => method_span!("user.Users/ListUser", service, name, ends),
        1 => method_span!("grpc.health.v1.Health/Check", service, name, ends),
        2 => method_span!("grpc.health.v1.Health/Watch", service, name, ends),
        3 => method_span!(
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            service,
            name,
            ends
        ),
        4 => method_span!(
            "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            service,
            name,
            ends
        ),
        _ => tracing::error_span!(
            target: RPC_SPAN_TARGET,
            "rpc",
            otel.name = %format_args!("{}/{}", rpc.service, rpc.method),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = rpc.service,
            rpc.method = rpc.method,
            server.address = ends.local.map(|a| tracing::field::display(a.ip())),
            server.port = ends.local.map(|a| i64::from(a.port())),
            network.peer.address = ends.peer.map(|a| tracing::field::display(a.ip())),
            network.peer.port = ends.peer.map(|a| i64::from(a.port())),
        ),
    }
}

/// Registers the spans' callsites, once per process, before any call arrives. Registered lazily
/// by concurrent first calls instead, per-layer filters can miss the first
/// spans (left disabled, or unseen by OpenTelemetry). Done under a no-op
/// subscriber, so the warm-up spans themselves go nowhere.
fn register_span_callsite() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(register_span_callsites_now);
}

fn register_span_callsites_now() {
    let none = tracing::subscriber::NoSubscriber::default();
    tracing::subscriber::with_default(none, || {
        for method in &CATALOG {
            let rpc = RpcPath {
                service: method.service,
                method: method.method,
            };
            drop(open_span(rpc, Ends::default()));
        }
        drop(open_span(RpcPath::parse("/"), Ends::default()));
    });
    // The no-op subscriber gives no level hint, which raised the process-wide
    // maximum level to TRACE while it existed; recompute it from the
    // subscribers alive now, or every disabled trace event in h2 pays a
    // callsite check for the rest of the process's life.
    tracing::callsite::rebuild_interest_cache();
}

/// Ends the call's span with its status and logs the call at debug level.
#[derive(Debug)]
pub struct CallTrace {
    span: Span,
    /// Set when the debug line `rpc.call` is wanted.
    path: Option<String>,
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
        let Some(path) = self.path else {
            return;
        };
        let _inside = self.span.enter();
        tracing::debug!(
            rpc.path = %path,
            rpc.grpc.status_code = code as i32,
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            "rpc.call"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;

    #[test]
    fn served_methods_get_spans_named_service_slash_method() {
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            for method in &CATALOG[..CATALOG.len() - 1] {
                let rpc = RpcPath {
                    service: method.service,
                    method: method.method,
                };
                let span = open_span(rpc, Ends::default());
                let name = span.metadata().map(|m| m.name());
                let expected = format!("{}/{}", method.service, method.method);
                assert_eq!(name, Some(expected.as_str()));
            }
            let other = open_span(RpcPath::parse("/evil.Service/Random"), Ends::default());
            assert_eq!(other.metadata().map(|m| m.name()), Some("rpc"));
        });
    }

    fn propagator_output(span_context: &SpanContext) -> HashMap<String, String> {
        let context = opentelemetry::Context::new().with_remote_span_context(span_context.clone());
        let mut headers = HashMap::new();
        TraceContextPropagator::new().inject_context(&context, &mut headers);
        headers
    }

    #[test]
    fn traceparent_is_what_the_w3c_propagator_writes() {
        for flags in [
            TraceFlags::SAMPLED,
            TraceFlags::default(),
            TraceFlags::new(0xff),
        ] {
            let span_context = SpanContext::new(
                TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex"),
                SpanId::from_hex("b7ad6b7169203331").expect("hex"),
                flags,
                true,
                TraceState::NONE,
            );
            let mut headers = http::HeaderMap::new();
            inject_traceparent(&span_context, &mut headers);
            let ours = headers.get("traceparent").and_then(|v| v.to_str().ok());
            let theirs = propagator_output(&span_context);
            assert_eq!(ours, theirs.get("traceparent").map(String::as_str));
            assert!(headers.get("tracestate").is_none());
        }
    }

    #[test]
    fn tracestate_goes_back_with_traceparent() {
        let span_context = SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex"),
            SpanId::from_hex("b7ad6b7169203331").expect("hex"),
            TraceFlags::SAMPLED,
            true,
            "vendor=value".parse().expect("a trace state"),
        );
        let mut headers = http::HeaderMap::new();
        inject_traceparent(&span_context, &mut headers);
        assert_eq!(
            headers.get("tracestate").and_then(|v| v.to_str().ok()),
            Some("vendor=value")
        );
        assert!(headers.contains_key("traceparent"));
    }

    #[test]
    fn invalid_context_writes_nothing() {
        let mut headers = http::HeaderMap::new();
        inject_traceparent(&SpanContext::empty_context(), &mut headers);
        assert!(headers.is_empty());
    }
}
