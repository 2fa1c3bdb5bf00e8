//! Latency samples and their percentiles, for comparing the same calls
//! with and without load. Percentiles are nearest-rank over all samples.
use std::time::Duration;

/// Latencies of successful calls.
#[derive(Debug, Default)]
pub(crate) struct Samples(Vec<Duration>);

impl Samples {
    pub(crate) fn record(&mut self, latency: Duration) {
        self.0.push(latency);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The nearest-rank `percent`th percentile; zero without samples.
    pub(crate) fn percentile(&self, percent: usize) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        match sorted.len() {
            0 => Duration::ZERO,
            len => sorted[(len * percent).div_ceil(100).clamp(1, len) - 1],
        }
    }

    /// "p50 X, p99 Y, max Z over N calls", for the test's output.
    pub(crate) fn summary(&self) -> String {
        format!(
            "p50 {:?}, p99 {:?}, max {:?} over {} calls",
            self.percentile(50),
            self.percentile(99),
            self.percentile(100),
            self.len()
        )
    }
}
