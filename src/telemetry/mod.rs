//! Everything that makes the service observable: logs, OpenTelemetry traces
//! and metrics exported over OTLP, and the Prometheus registry.

mod exporter;
mod logs;
pub mod metrics;
mod otel_env;
mod providers;

pub(crate) use logs::current_ids;
pub use logs::panic_message;
pub use metrics::RpcMetrics;
pub use otel_env::{ExportPlan, TelemetryError};
pub use providers::{RPC_SPAN_TARGET, TelemetryGuard, init, metrics_exported, traces_enabled};
