//! Keeps a failing collector from hurting anyone: failed exports are
//! counted and reported at most once per interval, never passed on to calls.
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    metrics::{Temporality, data::ResourceMetrics, exporter::PushMetricExporter},
    trace::{SpanData, SpanExporter},
};

/// At most one warning about a failing collector per this interval.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The state of one collector, shared by its span and metric exporters so
/// that one outage gives one warning per interval, not one per signal.
#[derive(Debug)]
pub(crate) struct CollectorHealth {
    endpoint: String,
    dropped: AtomicU64,
    last_warning: Mutex<Option<Instant>>,
}

impl CollectorHealth {
    pub(crate) fn new(endpoint: String) -> Arc<Self> {
        Arc::new(Self {
            endpoint,
            dropped: AtomicU64::new(0),
            last_warning: Mutex::new(None),
        })
    }

    /// Counts `items` lost to a failed export and warns, at most once per interval.
    fn check(&self, result: OTelSdkResult, items: u64, what: &'static str) -> OTelSdkResult {
        let Err(error) = &result else {
            return result;
        };
        let dropped = self.dropped.fetch_add(items, Ordering::Relaxed) + items;
        let mut last = match self.last_warning.lock() {
            Ok(last) => last,
            Err(poisoned) => poisoned.into_inner(),
        };
        if last.is_none_or(|at| at.elapsed() >= WARNING_INTERVAL) {
            *last = Some(Instant::now());
            tracing::warn!(
                endpoint = %self.endpoint,
                error = %error,
                signal = what,
                dropped_total = dropped,
                "telemetry.export_failed: telemetry is being dropped; serving is unaffected"
            );
        }
        result
    }
}

/// Wraps an OTLP exporter (spans or metrics) with its collector's health.
#[derive(Debug)]
pub(crate) struct Guarded<E> {
    inner: E,
    health: Arc<CollectorHealth>,
}

impl<E> Guarded<E> {
    pub(crate) fn new(inner: E, health: Arc<CollectorHealth>) -> Self {
        Self { inner, health }
    }
}

impl<E: SpanExporter> SpanExporter for Guarded<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.health.check(result, spans, "spans")
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Guarded<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        self.health.check(result, 1, "metrics")
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
