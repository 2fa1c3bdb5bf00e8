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

use opentelemetry::{global, propagation::TextMapCompositePropagator, trace::TracerProvider as _};
use opentelemetry_sdk::{
    metrics::SdkMeterProvider,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{SdkTracer, SdkTracerProvider},
};
use tracing_subscriber::{
    Layer,
    filter::{LevelFilter, filter_fn},
};

use super::{
    call_tracing::CallTracing,
    logs::{self, BoxedLayer},
    otel_env,
    otlp_target::OtlpTarget,
    pipelines, span_events,
};
use crate::settings::Settings;

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
    pub(super) tracer_provider: Option<SdkTracerProvider>,
    pub(super) meter_provider: Option<SdkMeterProvider>,
    /// Runs the OTLP/gRPC clients, on a thread of its own.
    pub(super) export_runtime: Option<tokio::runtime::Runtime>,
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
        Some(plan) => pipelines::build(plan)?,
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
    match plan.as_ref() {
        Some(plan) if plan.traces.is_some() || plan.metrics.is_some() => tracing::info!(
            traces = %describe(plan.traces.as_ref()),
            metrics = %describe(plan.metrics.as_ref()),
            "telemetry.exporting"
        ),
        _ => tracing::info!(
            "telemetry.not_exporting: no OTLP endpoint configured, or both exporters set to none"
        ),
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

/// Where a signal goes, for the start-up log line (never its headers).
fn describe(target: Option<&OtlpTarget>) -> String {
    match target {
        Some(target) => format!("{} {}", target.protocol.as_str(), target.endpoint),
        None => "none".to_owned(),
    }
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
