//! Logging set-up: one `tracing` subscriber for the whole process.
use std::io::IsTerminal;

use opentelemetry::trace::TraceContextExt;
use tracing_subscriber::{
    EnvFilter, Layer, Registry,
    filter::{FilterExt, LevelFilter, filter_fn},
    fmt,
    layer::SubscriberExt,
    util::SubscriberInitExt,
};

use super::RPC_SPAN_TARGET;
use crate::settings::{LogFormat, LogSettings};

/// Directives appended to `log.level` (not to `RUST_LOG`).
const QUIET_OTEL_INTERNALS: &str = "opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off";

/// A layer ready to stack on the registry.
pub(crate) type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber: log lines filtered by `log.level` (or
/// `RUST_LOG`, which wins), plus `extra` (the OpenTelemetry layer), which
/// has its own filter so log levels never decide what is traced.
pub(crate) fn init(settings: &LogSettings, extra: Option<BoxedLayer>) -> anyhow::Result<()> {
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(directives) if !directives.trim().is_empty() => {
            EnvFilter::builder().parse(directives)?
        }
        // The OpenTelemetry SDK's own diagnostics repeat what the guarded
        // exporters already report once per interval; RUST_LOG brings them back.
        _ => EnvFilter::builder().parse(format!("{},{QUIET_OTEL_INTERNALS}", settings.level))?,
    };
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let lines: BoxedLayer = if json {
        // Span fields (trace_id, span_id, rpc.*) sit at the top level of each
        // line, so `jq .trace_id` finds every line of a call.
        let mut layer = json_subscriber::fmt::layer()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .flatten_span_list_on_top_level(true);
        // Read from the active OpenTelemetry context and the current call
        // span's name when a line is written, so calls that log nothing pay
        // nothing for them.
        let fields = layer.inner_layer_mut();
        fields.add_dynamic_field("trace_id", |_, _| current_ids().map(|(trace, _)| trace));
        fields.add_dynamic_field("span_id", |_, _| current_ids().map(|(_, span)| span));
        fields.add_dynamic_field("rpc.service", |_, _| {
            current_rpc().map(|(service, _)| service)
        });
        fields.add_dynamic_field("rpc.method", |_, _| current_rpc().map(|(_, method)| method));
        // Call spans named after their method carry nothing a line needs
        // beyond what current_rpc() reads from the name: this layer skips
        // them, instead of formatting their fields into JSON on every call.
        // The level hint keeps `log.level` the process-wide maximum: a
        // filter without one lets every h2 trace event reach its callsite.
        let not_named_call_span =
            filter_fn(|meta| !(meta.is_span() && is_named_call_span(meta.target(), meta.name())))
                .with_max_level_hint(LevelFilter::TRACE);
        layer.with_filter(filter.and(not_named_call_span)).boxed()
    } else {
        fmt::layer().with_filter(filter).boxed()
    };
    let layers: Vec<BoxedLayer> = [Some(lines), extra].into_iter().flatten().collect();
    tracing_subscriber::registry().with(layers).try_init()?;
    install_panic_logger();
    Ok(())
}

/// Trace and span id of the active OpenTelemetry span, if any.
pub(crate) fn current_ids() -> Option<(String, String)> {
    let context = opentelemetry::Context::current();
    let span = context.span();
    let ids = span.span_context();
    ids.is_valid()
        .then(|| (ids.trace_id().to_string(), ids.span_id().to_string()))
}

/// Call spans of served methods are named `service/method` (layers::trace);
/// others are named `rpc` and keep their fields.
fn is_named_call_span(target: &str, name: &str) -> bool {
    target == RPC_SPAN_TARGET && name.contains('/')
}

/// Service and method of the call being served, from its span's name.
fn current_rpc() -> Option<(&'static str, &'static str)> {
    let metadata = tracing::Span::current().metadata()?;
    if !is_named_call_span(metadata.target(), metadata.name()) {
        return None;
    }
    metadata.name().split_once('/')
}

/// Routes panic messages through `tracing`, so they are JSON lines like every
/// other log line and carry the span of the call that panicked.
fn install_panic_logger() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|loc| format!("{}:{}", loc.file(), loc.line()))
            .unwrap_or_default();
        tracing::error!(
            panic.message = %panic_message(info.payload()),
            panic.location = %location,
            "panic"
        );
    }));
}

/// The text of a panic payload, whether it was a `&str` or a `String`.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_fields_come_from_the_current_call_span_name() {
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            assert_eq!(current_rpc(), None);
            let named = tracing::error_span!(target: "user_service::rpc", "user.Users/ListUser");
            named.in_scope(|| assert_eq!(current_rpc(), Some(("user.Users", "ListUser"))));
            // The shared span for unserved paths keeps its fields instead.
            let shared = tracing::error_span!(target: "user_service::rpc", "rpc");
            shared.in_scope(|| assert_eq!(current_rpc(), None));
            let other = tracing::error_span!(target: "elsewhere", "a/b");
            other.in_scope(|| assert_eq!(current_rpc(), None));
        });
    }
}
