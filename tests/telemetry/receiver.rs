//! What the in-process OTLP receivers record: spans, metrics and the
//! headers of each export (served over gRPC by receiver_grpc.rs, over HTTP
//! by receiver_http.rs).
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry_proto::tonic::{
    collector::{metrics::v1::ExportMetricsServiceRequest, trace::v1::ExportTraceServiceRequest},
    common::v1::{KeyValue, any_value::Value},
    metrics::v1::{HistogramDataPoint, ResourceMetrics, metric::Data},
    trace::v1::Span,
};
use tokio::sync::watch;
use tonic::Status;

pub(crate) use crate::receiver_grpc::{TRACES_PATH, serve_grpc, start_grpc};

/// A span as received, with its resource's attributes.
#[derive(Debug, Clone)]
pub(crate) struct ReceivedSpan {
    pub(crate) resource: Vec<KeyValue>,
    pub(crate) span: Span,
}

/// What a receiver was sent; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    metrics: Arc<Mutex<Vec<ResourceMetrics>>>,
    /// The headers of every export request, with its path.
    requests: Arc<Mutex<Vec<(String, http::HeaderMap)>>>,
    changes: watch::Sender<u64>,
    /// When set, every export is answered with this error.
    failing: Option<tonic::Code>,
    /// When set, every gRPC export is answered only after this long.
    delay: Option<Duration>,
}

impl Received {
    pub(crate) fn new(failing: Option<tonic::Code>) -> Self {
        Self {
            spans: Arc::default(),
            metrics: Arc::default(),
            requests: Arc::default(),
            changes: watch::channel(0).0,
            failing,
            delay: None,
        }
    }

    /// The same, answering each gRPC export only after `delay`.
    pub(crate) fn slow(self, delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..self
        }
    }

    /// Records an export request's path and headers (before its content,
    /// which wakes the waiters).
    pub(crate) fn add_request(&self, path: &str, headers: http::HeaderMap) {
        let mut requests = self.requests.lock().expect("not poisoned");
        requests.push((path.to_owned(), headers));
    }

    /// Every value of header `name` sent to `path`, in arrival order.
    pub(crate) fn header_values(&self, path: &str, name: &str) -> Vec<String> {
        let requests = self.requests.lock().expect("not poisoned");
        requests
            .iter()
            .filter(|(at, _)| at == path)
            .flat_map(|(_, headers)| headers.get_all(name))
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect()
    }

    /// How many spans arrived, whatever their trace.
    pub(crate) fn span_count(&self) -> usize {
        self.spans.lock().expect("not poisoned").len()
    }

    pub(crate) fn add_traces(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.spans.lock().expect("not poisoned");
        for resource_spans in request.resource_spans {
            let resource = resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|span| ReceivedSpan {
                    resource: resource.clone(),
                    span,
                }));
            }
        }
        self.changes.send_modify(|n| *n += 1);
    }

    pub(crate) fn add_metrics(&self, request: ExportMetricsServiceRequest) {
        self.metrics
            .lock()
            .expect("not poisoned")
            .extend(request.resource_metrics);
        self.changes.send_modify(|n| *n += 1);
    }

    /// Every span received so far whose trace id is `trace_id` (hex).
    pub(crate) fn spans_in_trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        self.spans
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|received| hex(&received.span.trace_id) == trace_id)
            .cloned()
            .collect()
    }

    /// Waits until some span of `trace_id` arrived, then returns them all.
    pub(crate) async fn wait_for_trace(
        &self,
        trace_id: &str,
        bound: Duration,
    ) -> Vec<ReceivedSpan> {
        let found = self
            .wait_until(bound, || !self.spans_in_trace(trace_id).is_empty())
            .await;
        assert!(
            found,
            "no span of trace {trace_id} arrived within {bound:?}"
        );
        self.spans_in_trace(trace_id)
    }

    /// Names of every metric received so far.
    pub(crate) fn metric_names(&self) -> Vec<String> {
        self.metrics
            .lock()
            .expect("not poisoned")
            .iter()
            .flat_map(|rm| rm.scope_metrics.iter())
            .flat_map(|sm| sm.metrics.iter().map(|m| m.name.clone()))
            .collect()
    }

    /// The data points of histogram `name` in the latest export that has it
    /// (cumulative, so the latest holds every call so far).
    pub(crate) fn latest_histogram(&self, name: &str) -> Vec<HistogramDataPoint> {
        let metrics = self.metrics.lock().expect("not poisoned");
        metrics
            .iter()
            .rev()
            .flat_map(|rm| rm.scope_metrics.iter())
            .flat_map(|sm| sm.metrics.iter())
            .find(|metric| metric.name == name)
            .and_then(|metric| match &metric.data {
                Some(Data::Histogram(histogram)) => Some(histogram.data_points.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Waits until `condition` holds, re-checking on every export; false
    /// when `bound` passes first.
    pub(crate) async fn wait_until(&self, bound: Duration, condition: impl Fn() -> bool) -> bool {
        let mut changes = self.changes.subscribe();
        tokio::time::timeout(bound, async {
            while !condition() {
                if changes.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .is_ok()
            && condition()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The string, int or bool value of attribute `key`.
pub(crate) fn attribute(attributes: &[KeyValue], key: &str) -> Option<Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone())
        .and_then(|v| v.value)
}

pub(crate) fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    match attribute(attributes, key) {
        Some(Value::StringValue(value)) => Some(value),
        _ => None,
    }
}

pub(crate) fn int_attribute(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attribute(attributes, key) {
        Some(Value::IntValue(value)) => Some(value),
        _ => None,
    }
}

impl Received {
    /// Waits out the delay, then refuses or accepts.
    pub(crate) async fn answer(&self) -> Result<(), Status> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        match self.failing {
            Some(code) => Err(Status::new(code, "collector refuses")),
            None => Ok(()),
        }
    }
}
