//! The export pipelines of one process: a batch span processor and a
//! periodic metric reader, each feeding its signal's OTLP exporter.
use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::{
    Resource,
    metrics::{PeriodicReader, SdkMeterProvider},
    resource::EnvResourceDetector,
    trace::{BatchSpanProcessor, SdkTracerProvider},
};

use super::{
    exporter::{CollectorHealth, Guarded},
    otel_env::ExportPlan,
    otlp_clients::{metric_exporter, span_exporter},
    providers::TelemetryGuard,
};
use crate::settings::OtlpProtocol;

/// The providers of an exporting process: a tracer provider when traces
/// have a target, a meter provider when metrics have one.
pub(super) fn build(plan: &ExportPlan) -> anyhow::Result<TelemetryGuard> {
    if plan.traces.is_none() && plan.metrics.is_none() {
        return Ok(TelemetryGuard::default());
    }
    // The OTLP/HTTP client's rustls has no crypto provider of its own and
    // takes the process's; one already installed is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
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
    let targets = [&plan.traces, &plan.metrics];
    let export_runtime = match targets
        .iter()
        .flat_map(|target| target.as_ref())
        .any(|target| target.protocol == OtlpProtocol::Grpc)
    {
        true => Some(export_runtime_thread()?),
        false => None,
    };
    let entered = export_runtime.as_ref().map(tokio::runtime::Runtime::enter);
    let trace_health = plan
        .traces
        .as_ref()
        .map(|target| CollectorHealth::new(target.collector().to_owned()));
    let tracer_provider = match (&plan.traces, &trace_health) {
        (Some(target), Some(health)) => {
            let exporter = Guarded::new(span_exporter(target)?, health.clone());
            Some(
                SdkTracerProvider::builder()
                    .with_sampler(plan.sampler.clone())
                    .with_resource(resource.clone())
                    .with_span_processor(
                        BatchSpanProcessor::builder(exporter)
                            .with_batch_config(plan.batch.config())
                            .build(),
                    )
                    .build(),
            )
        }
        _ => None,
    };
    let meter_provider = match &plan.metrics {
        Some(target) => {
            // One collector for both signals: one outage, one warning.
            let health = match (&plan.traces, trace_health) {
                (Some(traces), Some(health)) if traces.collector() == target.collector() => health,
                _ => CollectorHealth::new(target.collector().to_owned()),
            };
            let reader = PeriodicReader::builder(Guarded::new(metric_exporter(target)?, health))
                .with_interval(plan.metrics_interval)
                .build();
            Some(
                SdkMeterProvider::builder()
                    .with_resource(resource)
                    .with_reader(reader)
                    .build(),
            )
        }
        None => None,
    };
    drop(entered);
    Ok(TelemetryGuard {
        tracer_provider,
        meter_provider,
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
