//! Everything that makes the service observable: logs, OpenTelemetry traces
//! and metrics exported over OTLP, and the Prometheus registry.

mod call_tracing;
mod exporter;
mod logs;
pub mod metrics;
mod otel_env;
mod otlp_clients;
mod otlp_secrets;
mod otlp_target;
mod pipelines;
mod providers;
mod span_events;

pub use call_tracing::CallTracing;
pub use logs::panic_message;
pub(crate) use logs::{CallRpc, current_ids, enter_call};
pub use metrics::RpcMetrics;
pub use otel_env::{ExportPlan, SpanBatch, TelemetryError};
pub use otlp_target::{ClientIdentity, OtlpTarget, Signal};
pub use providers::{TelemetryGuard, init, metrics_exported};
pub(crate) use providers::{call_tracer, call_tracing};
