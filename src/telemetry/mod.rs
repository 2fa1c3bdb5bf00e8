//! Everything that makes the service observable: logs, OpenTelemetry traces
//! and metrics exported over OTLP, and the Prometheus registry.

mod exporter;
mod logs;
pub mod metrics;
mod otel_env;
mod providers;
mod span_events;

pub use logs::panic_message;
pub(crate) use logs::{CallRpc, current_ids};
pub use metrics::RpcMetrics;
pub use otel_env::{ExportPlan, TelemetryError};
pub(crate) use providers::call_tracer;
pub use providers::{TelemetryGuard, init, metrics_exported};
