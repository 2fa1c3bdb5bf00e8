//! Observes every call in one service: its OpenTelemetry SERVER span (named
//! and attributed the way opentelemetry-go's `otelgrpc` does, so existing
//! Jaeger and Grafana queries work, with its `traceparent` echoed in the
//! answer), its metrics, and its debug log line. One future and one body
//! wrapper per call, whatever is switched on.
//!
//! The span is built with the OpenTelemetry API directly, not through a
//! `tracing` span: the call's OpenTelemetry context is made current on every
//! poll, which is all log correlation (telemetry::logs), span events
//! (telemetry::span_events) and spans opened by handlers need, at a fraction
//! of the cost of a `tracing` span's life cycle.
use std::{
    borrow::Cow,
    cell::RefCell,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{Context as TaskContext, Poll, ready},
    time::Instant,
};

use opentelemetry::{
    Context, KeyValue, global,
    trace::{Status as SpanStatus, TraceContextExt},
};
use opentelemetry_http::HeaderExtractor;
use pin_project_lite::pin_project;
use tonic::{
    Code,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};
use tower::{Layer, Service};

use super::{
    client_cancel::{BrokenOff, WatchedRequest},
    completion::{CallObserver, CompletionBody, observe},
    traceparent::{BAGGAGE, TRACEPARENT, inject_traceparent},
};
use crate::{
    methods::{Method, RpcPath, code_name},
    scoped::Scoped,
    telemetry::{self, CallRpc, CallTracing, RpcMetrics, enter_call},
};

/// Wraps services in [`Observe`].
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    /// Shared: the server clones its service for every call, and a sampler
    /// is a tree of boxes.
    shared: Arc<Observing>,
}

/// What every call is observed with.
#[derive(Debug)]
struct Observing {
    /// Present when the process traces (exported, or ids only).
    tracing: Option<CallTracing>,
    trace_infrastructure: bool,
    metrics: Option<RpcMetrics>,
}

impl ObserveLayer {
    /// Traces calls when the process has OpenTelemetry set up
    /// (`trace_infrastructure` also traces health and reflection calls), and
    /// records into `metrics` when given (`None` when nothing would read them).
    pub fn new(trace_infrastructure: bool, metrics: Option<RpcMetrics>) -> Self {
        Self {
            shared: Arc::new(Observing {
                tracing: telemetry::call_tracing(),
                trace_infrastructure,
                metrics,
            }),
        }
    }

    /// False when no call could be traced, counted or logged at debug level:
    /// the server then leaves this layer out altogether.
    pub fn is_active(&self) -> bool {
        self.shared.tracing.is_some()
            || self.shared.metrics.is_some()
            || tracing::level_filters::LevelFilter::current()
                >= tracing::level_filters::LevelFilter::DEBUG
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            observing: Arc::clone(&self.shared),
        }
    }
}

/// Opens the call's span (a child of the caller's, when it sent one), counts
/// the call, and closes both with the final code once the answer ends.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    observing: Arc<Observing>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Observe<S>
where
    S: Service<http::Request<WatchedRequest<ReqBody>>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<CompletionBody<ResBody, CallEnd>>;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let rpc = RpcPath::parse(request.uri().path());
        let method = rpc.known();
        let layer = &*self.observing;
        if let Some(metrics) = &layer.metrics {
            metrics.started(method);
        }
        let call_rpc = call_rpc(rpc, method);
        let context = match &layer.tracing {
            Some(tracing) if layer.trace_infrastructure || !rpc.is_infrastructure() => {
                Some(call_context(tracing, &request, &call_rpc))
            }
            _ => None,
        };
        let log_call = tracing::enabled!(tracing::Level::DEBUG);
        let call = CallEnd {
            // Only the debug line needs it: no copy per call otherwise.
            path: log_call.then(|| request.uri().path().to_owned()),
            context,
            rpc: call_rpc,
            metrics: layer.metrics.clone(),
            method,
            broken_off: BrokenOff::default(),
            started: Instant::now(),
        };
        let request = request.map(|body| WatchedRequest::new(body, Some(call.broken_off.clone())));
        // A panic while the handler builds its future is logged inside the call.
        let active = call.attach();
        let inner = self.inner.call(request);
        drop(active);
        ObserveFuture {
            inner,
            call: Some(call),
        }
    }
}

pin_project! {
    /// The handler's future, run with the call's context current; hands the
    /// call to the answer's body, which sees its final code.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        call: Option<CallEnd>,
    }

    impl<F> PinnedDrop for ObserveFuture<F> {
        // Dropped before answering: the client went away (or the connection
        // did); the call still ends, as CANCELLED.
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.finish(Code::Cancelled);
            }
        }
    }
}

impl<F, B, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<CompletionBody<B, CallEnd>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let active = this.call.as_ref().map(CallEnd::attach);
        let result = ready!(this.inner.poll(cx));
        drop(active);
        let call = this.call.take();
        match result {
            Ok(mut response) => {
                if let Some(context) = call.as_ref().and_then(|call| call.context.as_ref()) {
                    inject_traceparent(context.span().span_context(), response.headers_mut());
                }
                Poll::Ready(Ok(observe(response, call)))
            }
            Err(error) => {
                if let Some(call) = call {
                    call.finish(Code::Unknown);
                }
                Poll::Ready(Err(error))
            }
        }
    }
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

/// The call's context: the caller's (when it sent `traceparent` or
/// `baggage`) with the call's span in it.
fn call_context<B>(tracing: &CallTracing, request: &http::Request<B>, call: &CallRpc) -> Context {
    let headers = request.headers();
    let parent = if carries_context(headers) {
        global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
    } else {
        Context::new()
    };
    tracing.start_server_span(call.name.clone(), &parent, || {
        span_attributes(call, request.extensions())
    })
}

/// Whether the caller sent a trace context or baggage. Most calls carry
/// neither, so the propagators are skipped for them; one pass over a
/// request's few headers is cheaper than hashing both names.
fn carries_context(headers: &http::HeaderMap) -> bool {
    headers
        .keys()
        .any(|name| name == TRACEPARENT || name == BAGGAGE)
}

/// otelgrpc's attributes of a SERVER span.
fn span_attributes(call: &CallRpc, extensions: &http::Extensions) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(7);
    attributes.push(KeyValue::new("rpc.system", "grpc"));
    attributes.push(KeyValue::new("rpc.service", call.service.clone()));
    attributes.push(KeyValue::new("rpc.method", call.method.clone()));
    connection_attributes(extensions, &mut attributes);
    attributes
}

/// The connection's ends as a call span carries them (`server.address`,
/// `server.port`, `network.peer.address`, `network.peer.port`), from the
/// request's extensions; public so that the benchmarks' export floor builds
/// exactly the same ones.
pub fn connection_attributes(extensions: &http::Extensions, attributes: &mut Vec<KeyValue>) {
    // Under TLS the TCP details sit inside the TLS connection info.
    let connection = extensions.get::<TcpConnectInfo>().or_else(|| {
        extensions
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .map(TlsConnectInfo::get_ref)
    });
    if let Some(local) = connection.and_then(TcpConnectInfo::local_addr) {
        attributes.push(KeyValue::new("server.address", ip_text(local.ip())));
        attributes.push(KeyValue::new("server.port", i64::from(local.port())));
    }
    if let Some(peer) = connection.and_then(TcpConnectInfo::remote_addr) {
        attributes.push(KeyValue::new("network.peer.address", ip_text(peer.ip())));
        attributes.push(KeyValue::new("network.peer.port", i64::from(peer.port())));
    }
}

/// The text of `ip`, shared. A server sees few addresses (its own and its
/// callers', often a proxy's), and formatting one costs more than the rest
/// of its span's attributes together: each thread keeps the last few.
fn ip_text(ip: IpAddr) -> Arc<str> {
    thread_local! {
        static RECENT: RefCell<RecentIps> = const { RefCell::new(RecentIps::new()) };
    }
    RECENT.with_borrow_mut(|recent| recent.text(ip))
}

/// The last [`RecentIps::KEPT`] addresses formatted, oldest replaced first.
struct RecentIps {
    next: usize,
    kept: [Option<(IpAddr, Arc<str>)>; Self::KEPT],
}

impl RecentIps {
    const KEPT: usize = 4;

    const fn new() -> Self {
        Self {
            next: 0,
            kept: [const { None }; Self::KEPT],
        }
    }

    fn text(&mut self, ip: IpAddr) -> Arc<str> {
        if let Some((_, text)) = self.kept.iter().flatten().find(|(kept, _)| *kept == ip) {
            return Arc::clone(text);
        }
        let text: Arc<str> = ip.to_string().into();
        self.kept[self.next] = Some((ip, Arc::clone(&text)));
        self.next = (self.next + 1) % Self::KEPT;
        text
    }
}

/// Served methods name themselves without allocating; other paths are
/// named as the client sent them.
fn call_rpc(rpc: RpcPath<'_>, method: &'static Method) -> CallRpc {
    if method.is_served() {
        CallRpc {
            name: Cow::Borrowed(method.path_name),
            service: Cow::Borrowed(method.service),
            method: Cow::Borrowed(method.method),
        }
    } else {
        CallRpc {
            name: Cow::Owned(format!("{}/{}", rpc.service, rpc.method)),
            service: Cow::Owned(rpc.service.to_owned()),
            method: Cow::Owned(rpc.method.to_owned()),
        }
    }
}

/// Everything needed to end a call once its final code is known.
#[derive(Debug)]
pub struct CallEnd {
    /// The call's context, holding its span, when the call is traced.
    context: Option<Context>,
    /// What log lines written during the call name it.
    rpc: CallRpc,
    metrics: Option<RpcMetrics>,
    method: &'static Method,
    /// Set when the debug line `rpc.call` is wanted.
    path: Option<String>,
    /// Set when the client broke its request off (see client_cancel).
    broken_off: BrokenOff,
    started: Instant,
}

/// The call made current on this thread: its OpenTelemetry context (when
/// traced) and its name for log lines, until dropped.
struct Attached {
    _context: Option<opentelemetry::ContextGuard>,
    _call: Scoped<CallRpc>,
}

impl CallEnd {
    /// Makes the call current until the guard drops.
    fn attach(&self) -> Attached {
        Attached {
            _context: self.context.clone().map(Context::attach),
            _call: enter_call(&self.rpc),
        }
    }
}

impl CallObserver for CallEnd {
    fn finish(self, code: Code) {
        let code = if self.broken_off.is_set() {
            Code::Cancelled
        } else {
            code
        };
        let elapsed = self.started.elapsed();
        if let Some(metrics) = &self.metrics {
            metrics.handled(self.method, code, elapsed);
        }
        if let Some(path) = &self.path {
            let _active = self.attach();
            tracing::debug!(
                rpc.path = %path,
                rpc.grpc.status_code = code as i32,
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                "rpc.call"
            );
        }
        // Ended with the call's context no longer current: whatever is
        // logged while the SDK holds the span's lock cannot land on it.
        if let Some(context) = self
            .context
            .as_ref()
            .filter(|context| context.span().is_recording())
        {
            let span = context.span();
            span.set_attribute(KeyValue::new(
                "rpc.grpc.status_code",
                i64::from(code as i32),
            ));
            if is_server_error(code) {
                span.set_status(SpanStatus::error(code_name(code)));
            }
            span.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods;

    #[test]
    fn served_methods_name_their_spans_service_slash_method() {
        for method in methods::table().iter().filter(|method| method.is_served()) {
            let rpc = RpcPath {
                service: method.service,
                method: method.method,
            };
            let call = call_rpc(rpc, method);
            assert!(matches!(call.name, Cow::Borrowed(_)));
            assert_eq!(call.name, format!("{}/{}", method.service, method.method));
        }
        let rpc = RpcPath::parse("/evil.Service/Random");
        let call = call_rpc(rpc, rpc.known());
        assert_eq!(call.name, "evil.Service/Random");
        assert_eq!((&*call.service, &*call.method), ("evil.Service", "Random"));
    }

    #[test]
    fn ip_text_is_the_address_however_many_are_seen() {
        let addresses: Vec<IpAddr> = (1..=9)
            .map(|last| IpAddr::from([10, 0, 0, last]))
            .chain(["::1".parse().expect("an address")])
            .collect();
        for round in 0..3 {
            for ip in &addresses {
                assert_eq!(&*ip_text(*ip), ip.to_string(), "round {round}");
            }
        }
        let again = ip_text(addresses[9]);
        assert!(
            Arc::ptr_eq(&again, &ip_text(addresses[9])),
            "kept, not formatted again"
        );
    }
}
