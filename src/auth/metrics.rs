//! `auth_outcomes_total{reason}` on `/metrics`: how many decisions ended
//! which way. Each series is resolved once, so counting is one atomic add.
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use super::Outcome;

/// The counters, one per outcome.
pub(crate) struct AuthMetrics {
    outcomes: Vec<IntCounter>,
}

impl AuthMetrics {
    /// Registers the counter (every reason at zero from the start).
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
        Ok(Self { outcomes })
    }

    pub(crate) fn record(&self, outcome: Outcome) {
        self.outcomes[outcome as usize].inc();
    }
}
