//! Keeps a failing collector from hurting anyone: failed exports are
//! counted and reported at most once per interval, never passed on to calls.
use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};

/// At most one warning about a failing collector per this interval.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Wraps the OTLP span exporter with drop accounting and a rate-limited warning.
#[derive(Debug)]
pub(crate) struct GuardedExporter<E> {
    inner: E,
    endpoint: String,
    dropped: AtomicU64,
    last_warning: Mutex<Option<Instant>>,
}

impl<E> GuardedExporter<E> {
    pub(crate) fn new(inner: E, endpoint: String) -> Self {
        Self {
            inner,
            endpoint,
            dropped: AtomicU64::new(0),
            last_warning: Mutex::new(None),
        }
    }

    fn record_failure(&self, spans: u64, error: &dyn std::fmt::Display) {
        let dropped = self.dropped.fetch_add(spans, Ordering::Relaxed) + spans;
        let mut last = match self.last_warning.lock() {
            Ok(last) => last,
            Err(poisoned) => poisoned.into_inner(),
        };
        if last.is_some_and(|at| at.elapsed() < WARNING_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        tracing::warn!(
            endpoint = %self.endpoint,
            error = %error,
            dropped_spans_total = dropped,
            "telemetry.export_failed: spans are being dropped; serving is unaffected"
        );
    }
}

impl<E: SpanExporter> SpanExporter for GuardedExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.inner.export(batch).await;
        if let Err(error) = &result {
            self.record_failure(spans, error);
        }
        result
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
