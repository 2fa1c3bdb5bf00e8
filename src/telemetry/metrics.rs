//! Call metrics under the names existing gRPC dashboards use: Prometheus
//! `grpc_server_*` (go-grpc-prometheus) and OpenTelemetry `rpc.server.duration`
//! (otelgrpc), plus the process's own resource use.
use std::{sync::Arc, time::Duration};

use opentelemetry::{KeyValue, global, metrics::Histogram};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
    process_collector::ProcessCollector,
};
use tonic::Code;

/// The go-grpc-prometheus latency buckets, in seconds.
const HANDLING_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const CALL_LABELS: [&str; 3] = ["grpc_type", "grpc_service", "grpc_method"];

/// The call metrics of one server; cheap to clone.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    inner: Arc<Instruments>,
}

#[derive(Debug)]
struct Instruments {
    registry: Registry,
    started: IntCounterVec,
    handled: IntCounterVec,
    handling: HistogramVec,
    duration_ms: Histogram<f64>,
}

/// Which call a measurement belongs to.
#[derive(Debug, Clone, Copy)]
pub struct CallLabels {
    /// `unary`, `server_stream`, `bidi_stream`.
    pub grpc_type: &'static str,
    /// e.g. `user.Users`.
    pub service: &'static str,
    /// e.g. `ListUser`.
    pub method: &'static str,
}

impl RpcMetrics {
    /// A fresh registry with the call metrics and process metrics. The
    /// OpenTelemetry histogram goes to the global meter provider, so build
    /// this after telemetry is initialised.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let started = IntCounterVec::new(
            Opts::new(
                "grpc_server_started_total",
                "Total number of RPCs started on the server.",
            ),
            &CALL_LABELS,
        )?;
        let handled = IntCounterVec::new(
            Opts::new(
                "grpc_server_handled_total",
                "Total number of RPCs completed on the server, regardless of success or failure.",
            ),
            &["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
        )?;
        let handling = HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_handling_seconds",
                "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
            )
            .buckets(HANDLING_BUCKETS.to_vec()),
            &CALL_LABELS,
        )?;
        registry.register(Box::new(started.clone()))?;
        registry.register(Box::new(handled.clone()))?;
        registry.register(Box::new(handling.clone()))?;
        registry.register(Box::new(ProcessCollector::for_self()))?;
        let duration_ms = global::meter("user-service")
            .f64_histogram("rpc.server.duration")
            .with_unit("ms")
            .with_description("Measures the duration of inbound RPC.")
            .build();
        Ok(Self {
            inner: Arc::new(Instruments {
                registry,
                started,
                handled,
                handling,
                duration_ms,
            }),
        })
    }

    /// Counts a call that started.
    pub fn started(&self, call: CallLabels) {
        self.inner
            .started
            .with_label_values(&[call.grpc_type, call.service, call.method])
            .inc();
    }

    /// Records a call that ended with `code` after `elapsed`.
    pub fn handled(&self, call: CallLabels, code: Code, elapsed: Duration) {
        let instruments = &self.inner;
        let labels = [call.grpc_type, call.service, call.method];
        instruments
            .handled
            .with_label_values(&[call.grpc_type, call.service, call.method, code_label(code)])
            .inc();
        instruments
            .handling
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
        instruments.duration_ms.record(
            elapsed.as_secs_f64() * 1000.0,
            &[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", call.service),
                KeyValue::new("rpc.method", call.method),
                KeyValue::new("rpc.grpc.status_code", i64::from(code as i32)),
            ],
        );
    }

    /// Everything in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut text) {
            tracing::warn!(error = %err, "metrics.encode_failed");
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

fn code_label(code: Code) -> &'static str {
    crate::layers::code_name(code)
}
