//! Builds the OpenTelemetry providers and installs the process's subscriber;
//! the returned guard flushes both on every exit path, bounded in time.
use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::Duration,
};

use anyhow::Context as _;
use opentelemetry::{
    KeyValue, global, propagation::TextMapCompositePropagator, trace::TracerProvider as _,
};
use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    metrics::{PeriodicReader, SdkMeterProvider},
    propagation::{BaggagePropagator, TraceContextPropagator},
    resource::EnvResourceDetector,
    trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider},
};
use tracing_subscriber::{
    Layer,
    filter::{LevelFilter, filter_fn},
};

use super::{
    call_tracing::CallTracing,
    exporter::{CollectorHealth, Guarded},
    logs::{self, BoxedLayer},
    otel_env::{self, ExportPlan, OtlpTarget},
    span_events,
};
use crate::settings::{OtlpProtocol, Settings};

/// The `tracing` target prefix of this crate's own code: its spans inside a
/// call become children of the call's OpenTelemetry span.
const OWN_TARGETS: &str = env!("CARGO_CRATE_NAME");

/// How calls are traced, when this process traces (set by [`init`]).
static CALL_TRACING: Mutex<Option<CallTracing>> = Mutex::new(None);
/// Whether this process pushes metrics over OTLP (set once by [`init`]).
static METRICS_EXPORTED: AtomicBool = AtomicBool::new(false);

/// How calls are traced, once [`init`] has set up OpenTelemetry for this
/// process. Servers take it once, when they are built.
pub(crate) fn call_tracing() -> Option<CallTracing> {
    CALL_TRACING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The tracer of exported spans, when this process exports traces.
pub(crate) fn call_tracer() -> Option<SdkTracer> {
    call_tracing()?.exported().cloned()
}

/// True once [`init`] has set up OTLP metrics export for this process.
pub fn metrics_exported() -> bool {
    METRICS_EXPORTED.load(Ordering::Relaxed)
}

/// Owns the providers; [`TelemetryGuard::shutdown`] flushes them.
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
    /// Runs the OTLP/gRPC clients, on a thread of its own.
    export_runtime: Option<tokio::runtime::Runtime>,
}

/// Sets up logs, traces and metrics for the process.
pub fn init(settings: &Settings, env: &HashMap<String, String>) -> anyhow::Result<TelemetryGuard> {
    let plan = otel_env::resolve(&settings.telemetry, env)?;
    // reqwest (the OTLP/HTTP exporter's client, and auth.jwks_url's) is
    // built with rustls and no provider of its own: choose the process's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let guard = match &plan {
        Some(plan) => build_providers(plan)?,
        None => TelemetryGuard::default(),
    };
    let tracer = guard
        .tracer_provider
        .as_ref()
        .map(|provider| provider.tracer("user-service"));
    // Without an exporter no recorded span could ever be read: calls get
    // their ids alone (logs, error details, the echoed traceparent).
    let tracing = match (&tracer, &plan) {
        (Some(tracer), _) => Some(CallTracing::Exported(tracer.clone())),
        (None, Some(plan)) => Some(CallTracing::IdsOnly(plan.sampler.clone())),
        (None, None) => None,
    };
    *CALL_TRACING.lock().unwrap_or_else(PoisonError::into_inner) = tracing;
    // Call spans are built directly (layers::observe); `tracing` reaches
    // OpenTelemetry through two narrow layers: spans the service's own code
    // opens inside a call become its children, and warnings and errors
    // become events on whichever span is current.
    let otel_layers: Vec<BoxedLayer> = match tracer {
        Some(tracer) => vec![own_spans_layer(tracer), span_events::layer()],
        None => Vec::new(),
    };
    METRICS_EXPORTED.store(guard.meter_provider.is_some(), Ordering::Relaxed);
    logs::init(&settings.log, otel_layers)?;
    if let Some(provider) = &guard.meter_provider {
        global::set_meter_provider(provider.clone());
    }
    match plan.as_ref().and_then(|plan| plan.otlp.as_ref()) {
        Some(otlp) => {
            tracing::info!(endpoint = %otlp.endpoint, protocol = otlp.protocol.as_str(), "telemetry.exporting")
        }
        None => tracing::info!("telemetry.not_exporting: no OTLP endpoint configured"),
    }
    Ok(guard)
}

/// Spans opened by this crate's code (say, `#[tracing::instrument]` on a
/// handler's query), as children of the span current when they open.
fn own_spans_layer(tracer: SdkTracer) -> BoxedLayer {
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Span status and exception events follow the gRPC code and panics
        // alone (layers::observe, layers::panics); events reach spans
        // through span_events.
        .with_error_events_to_status(false)
        .with_error_events_to_exceptions(false)
        .with_error_fields_to_exceptions(false)
        .with_error_records_to_exceptions(false)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_level(false)
        .with_tracked_inactivity(false)
        .with_filter(
            filter_fn(|meta| meta.is_span() && meta.target().starts_with(OWN_TARGETS))
                // Without a hint the process-wide maximum level becomes
                // TRACE and every disabled trace event in h2 costs a
                // callsite check; with this one, spans follow the log level.
                .with_max_level_hint(LevelFilter::WARN),
        )
        .boxed()
}

/// The providers of an exporting process; none without an OTLP endpoint.
fn build_providers(plan: &ExportPlan) -> anyhow::Result<TelemetryGuard> {
    let Some(otlp) = &plan.otlp else {
        return Ok(TelemetryGuard::default());
    };
    let resource = Resource::builder_empty()
        .with_detector(Box::new(EnvResourceDetector::new()))
        .with_service_name(plan.service_name.clone())
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
        ])
        .build();
    // The exporters' gRPC clients (connection, request encoding) run on a
    // runtime of their own, never on the one that serves calls: encoding a
    // batch of spans there would hold every call behind it. OTLP/HTTP's
    // blocking client brings its own thread.
    let export_runtime = match otlp.protocol {
        OtlpProtocol::Grpc => Some(export_runtime_thread()?),
        OtlpProtocol::HttpProtobuf => None,
    };
    let entered = export_runtime.as_ref().map(tokio::runtime::Runtime::enter);
    let health = CollectorHealth::new(otlp.endpoint.clone());
    let exporter = Guarded::new(span_exporter(otlp)?, health.clone());
    let tracer_provider = SdkTracerProvider::builder()
        .with_sampler(plan.sampler.clone())
        .with_resource(resource.clone())
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .build();
    let metrics = Guarded::new(metric_exporter(otlp)?, health);
    let reader = PeriodicReader::builder(metrics)
        .with_interval(otlp.metrics_interval)
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(reader)
        .build();
    drop(entered);
    Ok(TelemetryGuard {
        tracer_provider: Some(tracer_provider),
        meter_provider: Some(meter_provider),
        export_runtime,
    })
}

/// One thread running the OTLP/gRPC clients' connections and requests.
fn export_runtime_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp-export")
        .enable_all()
        .build()
        .context("cannot start the telemetry export thread")
}

/// OTLP/HTTP endpoints are a base URL plus the signal's path.
fn signal_url(otlp: &OtlpTarget, signal: &str) -> String {
    match otlp.protocol {
        OtlpProtocol::Grpc => otlp.endpoint.clone(),
        OtlpProtocol::HttpProtobuf => format!("{}/v1/{signal}", otlp.endpoint),
    }
}

fn span_exporter(otlp: &OtlpTarget) -> anyhow::Result<SpanExporter> {
    let url = signal_url(otlp, "traces");
    Ok(match otlp.protocol {
        OtlpProtocol::Grpc => SpanExporter::builder()
            .with_tonic()
            .with_endpoint(url)
            .with_timeout(otlp.timeout)
            .build()?,
        OtlpProtocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url)
            .with_timeout(otlp.timeout)
            .build()?,
    })
}

fn metric_exporter(otlp: &OtlpTarget) -> anyhow::Result<MetricExporter> {
    let url = signal_url(otlp, "metrics");
    Ok(match otlp.protocol {
        OtlpProtocol::Grpc => MetricExporter::builder()
            .with_tonic()
            .with_endpoint(url)
            .with_timeout(otlp.timeout)
            .build()?,
        OtlpProtocol::HttpProtobuf => MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url)
            .with_timeout(otlp.timeout)
            .build()?,
    })
}

impl TelemetryGuard {
    /// Exports what is buffered now (tests use it to avoid waiting).
    pub fn force_flush(&self) {
        if let Some(provider) = &self.tracer_provider {
            let _ = provider.force_flush();
        }
        if let Some(provider) = &self.meter_provider {
            let _ = provider.force_flush();
        }
    }

    /// Flushes and stops the providers, tracer first, giving up after
    /// `bound`: a dead collector must not hold the exit up.
    pub fn shutdown(mut self, bound: Duration) {
        let tracer = self.tracer_provider.take();
        let meter = self.meter_provider.take();
        if tracer.is_none() && meter.is_none() {
            return;
        }
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            if let Some(provider) = tracer {
                let _ = provider.shutdown_with_timeout(bound);
            }
            if let Some(provider) = meter {
                let _ = provider.shutdown_with_timeout(bound);
            }
            let _ = done.send(());
        });
        match finished.recv_timeout(bound) {
            Ok(()) => tracing::info!("telemetry.flushed"),
            Err(_) => tracing::warn!("telemetry.flush_timeout: some telemetry was not exported"),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // Exports still in flight after the bounded flush are abandoned:
        // they must not hold the exit up (nor may dropping a runtime block
        // inside another one).
        if let Some(runtime) = self.export_runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt, Tracer};
    use opentelemetry_sdk::trace::InMemorySpanExporter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn spans_of_the_services_own_code_join_the_current_call_and_others_do_not() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("test");
        let subscriber = tracing_subscriber::registry().with(own_spans_layer(tracer.clone()));
        let call_trace = tracing::subscriber::with_default(subscriber, || {
            tracer.in_span("call", |context| {
                tracing::warn_span!(target: "user_service::users", "query").in_scope(|| {});
                tracing::warn_span!(target: "h2::proto", "frame").in_scope(|| {});
                context.span().span_context().trace_id()
            })
        });
        let spans = exporter.get_finished_spans().expect("spans");
        let names: Vec<&str> = spans.iter().map(|span| span.name.as_ref()).collect();
        assert_eq!(names, ["query", "call"]);
        assert_eq!(spans[0].span_context.trace_id(), call_trace);
        assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
    }
}
