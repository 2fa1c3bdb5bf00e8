//! Call metrics under the names existing gRPC dashboards use: Prometheus
//! `grpc_server_*` (go-grpc-prometheus) and OpenTelemetry `rpc.server.duration`
//! (otelgrpc), plus the process's own resource use.
use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use opentelemetry::{
    KeyValue, global,
    metrics::{BoundHistogram, Histogram as OtelHistogram},
};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
    TextEncoder, process_collector::ProcessCollector,
};
use tonic::Code;

use crate::methods::{self, ALL_CODES, Method, code_name};

/// The go-grpc-prometheus latency buckets, in seconds.
const HANDLING_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The call metrics of one server; cheap to clone.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    inner: Arc<Instruments>,
}

#[derive(Debug)]
struct Instruments {
    registry: Registry,
    /// Per method of the table, by index: label lookups happen once, here,
    /// not per call.
    methods: Vec<MethodInstruments>,
    /// Only when metrics are pushed over OTLP: otherwise every call would
    /// record into a histogram nothing reads.
    duration_ms: Option<OtelHistogram<f64>>,
}

#[derive(Debug)]
struct MethodInstruments {
    started: IntCounter,
    handling: Histogram,
    /// Indexed by the numeric gRPC code.
    handled: Vec<IntCounter>,
    /// `rpc.server.duration` bound to this method and a code (indexed by the
    /// numeric code), bound on the first call that ends with that code: a
    /// call then records with a lock and a few adds, not by sorting, hashing
    /// and looking up its attribute set. Unused codes are never bound, so
    /// they export no empty series.
    duration_ms_by_code: [OnceLock<BoundHistogram<f64>>; ALL_CODES.len()],
}

impl RpcMetrics {
    /// A fresh registry with the call metrics and process metrics. The
    /// OpenTelemetry histogram goes to the global meter provider, so build
    /// this after telemetry is initialised.
    pub fn new() -> prometheus::Result<Self> {
        let labels = ["grpc_type", "grpc_service", "grpc_method"];
        let started = IntCounterVec::new(
            Opts::new(
                "grpc_server_started_total",
                "Total number of RPCs started on the server.",
            ),
            &labels,
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
            &labels,
        )?;
        let registry = Registry::new();
        registry.register(Box::new(started.clone()))?;
        registry.register(Box::new(handled.clone()))?;
        registry.register(Box::new(handling.clone()))?;
        registry.register(Box::new(ProcessCollector::for_self()))?;

        let methods = methods::table()
            .iter()
            .map(|entry| {
                let call = [entry.grpc_type.as_str(), entry.service, entry.method];
                // Every series exists from the start at zero, as
                // go-grpc-prometheus initialises them, so rates work at once.
                let handled_counters = ALL_CODES
                    .iter()
                    .map(|code| {
                        handled.get_metric_with_label_values(&[
                            call[0],
                            call[1],
                            call[2],
                            code_name(*code),
                        ])
                    })
                    .collect::<prometheus::Result<Vec<_>>>()?;
                Ok(MethodInstruments {
                    started: started.get_metric_with_label_values(&call)?,
                    handling: handling.get_metric_with_label_values(&call)?,
                    handled: handled_counters,
                    duration_ms_by_code: Default::default(),
                })
            })
            .collect::<prometheus::Result<Vec<_>>>()?;

        let duration_ms = super::metrics_exported().then(|| {
            global::meter("user-service")
                .f64_histogram("rpc.server.duration")
                .with_unit("ms")
                .with_description("Measures the duration of inbound RPC.")
                .build()
        });
        Ok(Self {
            inner: Arc::new(Instruments {
                registry,
                methods,
                duration_ms,
            }),
        })
    }

    /// Counts a call that started.
    pub(crate) fn started(&self, method: &Method) {
        self.inner.methods[method.index].started.inc();
    }

    /// Records a call that ended with `code` after `elapsed`.
    pub(crate) fn handled(&self, method: &Method, code: Code, elapsed: Duration) {
        let instruments = &self.inner.methods[method.index];
        instruments.handled[code as usize].inc();
        instruments.handling.observe(elapsed.as_secs_f64());
        let Some(duration_ms) = &self.inner.duration_ms else {
            return;
        };
        let Some(slot) = instruments.duration_ms_by_code.get(code as usize) else {
            return;
        };
        slot.get_or_init(|| {
            duration_ms.bind(&[
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", method.service),
                KeyValue::new("rpc.method", method.method),
                KeyValue::new("rpc.grpc.status_code", i64::from(code as i32)),
            ])
        })
        .record(elapsed.as_secs_f64() * 1000.0);
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

impl RpcMetrics {
    /// The registry `/metrics` renders, for other parts' metrics (the store's).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }
}
