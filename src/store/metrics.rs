//! Store metrics under the OpenTelemetry database conventions:
//! `db.client.operation.duration` (seconds) and the pool's connections, over
//! OTLP and on `/metrics` (`db_client_operation_duration_seconds`,
//! `db_client_connection_count`, `db_client_connection_max`).
use std::sync::Arc;

use opentelemetry::{KeyValue, global, metrics::Histogram as OtelHistogram};
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntGaugeVec, Opts, Registry,
    core::{Collector, Desc},
    proto::MetricFamily,
};

use crate::directory::UserStore;

/// The conventions' recommended buckets for database operations, seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
];

/// The operations the store reports (`db.operation.name`).
const OPERATIONS: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

/// What one store's operations are recorded into; cheap to clone.
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    system: &'static str,
    duration: HistogramVec,
    otel_duration: OtelHistogram<f64>,
    /// Per operation that succeeded, resolved once: the series and the
    /// attributes, so a call does no label lookup and builds nothing.
    succeeded: Arc<[(Histogram, [KeyValue; 3]); 4]>,
}

impl StoreMetrics {
    /// Registers the store's metrics in `registry` (and its pool gauges,
    /// read from `store` when scraped or exported).
    pub fn register(registry: &Registry, store: Arc<dyn UserStore>) -> prometheus::Result<Self> {
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "db_client_operation_duration_seconds",
                "Duration of database client operations.",
            )
            .buckets(BUCKETS.to_vec()),
            &[
                "db_system_name",
                "db_collection_name",
                "db_operation_name",
                "error_type",
            ],
        )?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(PoolCollector::new(store.clone())?))?;
        let meter = global::meter("user-service");
        let otel_duration = meter
            .f64_histogram("db.client.operation.duration")
            .with_unit("s")
            .with_description("Duration of database client operations.")
            .with_boundaries(BUCKETS.to_vec())
            .build();
        let system = store.info().system;
        let pool_store = store.clone();
        meter
            .u64_observable_gauge("db.client.connection.count")
            .with_description("The number of connections that are currently in the state described by the state attribute.")
            .with_unit("{connection}")
            .with_callback(move |observer| {
                let usage = pool_store.pool_usage();
                for (state, count) in [("idle", usage.idle), ("used", usage.used)] {
                    observer.observe(count, &[
                        KeyValue::new("db.system.name", system),
                        KeyValue::new("db.client.connection.state", state),
                    ]);
                }
            })
            .build();
        let succeeded = OPERATIONS.map(|operation| {
            let series = duration.with_label_values(&[system, "users", operation, ""]);
            (series, attributes(system, operation))
        });
        Ok(Self {
            system,
            duration,
            otel_duration,
            succeeded: Arc::new(succeeded),
        })
    }

    /// Records one operation; `error` is its `error.type` when it failed.
    pub fn record(&self, operation: &'static str, seconds: f64, error: Option<&'static str>) {
        let known = OPERATIONS.iter().position(|known| *known == operation);
        if let (None, Some(index)) = (error, known) {
            let (series, attributes) = &self.succeeded[index];
            series.observe(seconds);
            self.otel_duration.record(seconds, attributes);
            return;
        }
        // Failures are rare: their series are looked up when they happen.
        let error_label = error.unwrap_or("");
        if let Ok(histogram) = self.duration.get_metric_with_label_values(&[
            self.system,
            "users",
            operation,
            error_label,
        ]) {
            histogram.observe(seconds);
        }
        let mut attributes = attributes(self.system, operation).to_vec();
        if let Some(error) = error {
            attributes.push(KeyValue::new("error.type", error));
        }
        self.otel_duration.record(seconds, &attributes);
    }
}

fn attributes(system: &'static str, operation: &'static str) -> [KeyValue; 3] {
    [
        KeyValue::new("db.system.name", system),
        KeyValue::new("db.collection.name", "users"),
        KeyValue::new("db.operation.name", operation),
    ]
}

/// Reads the pool's connections when Prometheus scrapes.
struct PoolCollector {
    store: Arc<dyn UserStore>,
    connections: IntGaugeVec,
    max: IntGaugeVec,
}

impl PoolCollector {
    fn new(store: Arc<dyn UserStore>) -> prometheus::Result<Self> {
        Ok(Self {
            store,
            connections: IntGaugeVec::new(
                Opts::new(
                    "db_client_connection_count",
                    "The number of connections that are currently in the state described by the state label.",
                ),
                &["db_system_name", "state"],
            )?,
            max: IntGaugeVec::new(
                Opts::new(
                    "db_client_connection_max",
                    "The most connections the pool opens.",
                ),
                &["db_system_name"],
            )?,
        })
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.connections
            .desc()
            .into_iter()
            .chain(self.max.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let usage = self.store.pool_usage();
        let system = self.store.info().system;
        let gauge = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
        self.connections
            .with_label_values(&[system, "idle"])
            .set(gauge(usage.idle));
        self.connections
            .with_label_values(&[system, "used"])
            .set(gauge(usage.used));
        self.max.with_label_values(&[system]).set(gauge(usage.max));
        self.connections
            .collect()
            .into_iter()
            .chain(self.max.collect())
            .collect()
    }
}
