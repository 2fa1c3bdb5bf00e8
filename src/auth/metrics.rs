//! How many decisions ended which way: `auth_outcomes_total{reason}` on
//! `/metrics`, and `user_service.auth.outcomes{reason}` over OTLP when
//! metrics are exported. Each series and attribute set is made once, so
//! counting is an atomic add and a lookup the SDK does anyway per call.
use opentelemetry::{KeyValue, global, metrics::Counter};
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use super::Outcome;

/// The counters, one per outcome.
pub(crate) struct AuthMetrics {
    outcomes: Vec<IntCounter>,
    exported: Counter<u64>,
    /// The OTLP attributes of each outcome.
    reasons: Vec<[KeyValue; 1]>,
}

impl AuthMetrics {
    /// Registers the counters (every reason at zero from the start on
    /// `/metrics`). The OTLP counter goes to the global meter provider, so
    /// build this after telemetry is initialised.
    pub(crate) fn register(registry: &Registry) -> prometheus::Result<Self> {
        let counter = IntCounterVec::new(
            Opts::new(
                "auth_outcomes_total",
                "Authentication and authorization decisions, by outcome reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(counter.clone()))?;
        let outcomes = Outcome::ALL
            .iter()
            .map(|outcome| counter.get_metric_with_label_values(&[outcome.reason()]))
            .collect::<prometheus::Result<Vec<_>>>()?;
        let exported = global::meter("user-service")
            .u64_counter("user_service.auth.outcomes")
            .with_description("Authentication and authorization decisions, by outcome reason.")
            .build();
        let reasons = Outcome::ALL
            .iter()
            .map(|outcome| [KeyValue::new("reason", outcome.reason())])
            .collect();
        Ok(Self {
            outcomes,
            exported,
            reasons,
        })
    }

    pub(crate) fn record(&self, outcome: Outcome) {
        let index = outcome as usize;
        self.outcomes[index].inc();
        self.exported.add(1, &self.reasons[index]);
    }
}
