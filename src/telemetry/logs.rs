//! Logging set-up: one `tracing` subscriber for the whole process.
use std::{borrow::Cow, cell::RefCell, io::IsTerminal};

use opentelemetry::trace::TraceContextExt;
use tracing_subscriber::{
    EnvFilter, Layer, Registry, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::{
    scoped::{self, Scoped},
    settings::{LogFormat, LogSettings},
};

/// Directives appended to `log.level` (not to `RUST_LOG`).
const QUIET_OTEL_INTERNALS: &str = "opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off";

/// A layer ready to stack on the registry.
pub(crate) type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The call being served: layers::observe makes it current on the thread
/// that polls the call, so log lines name the call without a `tracing` span
/// per call. A thread-local, not a value in the call's OpenTelemetry
/// context: adding a value to a context allocates a map per call.
#[derive(Debug, Clone)]
pub(crate) struct CallRpc {
    /// `service/method`, the span's name.
    pub(crate) name: Cow<'static, str>,
    pub(crate) service: Cow<'static, str>,
    pub(crate) method: Cow<'static, str>,
}

/// Installs the global subscriber: log lines filtered by `log.level` (or
/// `RUST_LOG`, which wins), plus `extra` (the OpenTelemetry layers), which
/// have their own filters so log levels never decide what is traced.
pub(crate) fn init(settings: &LogSettings, extra: Vec<BoxedLayer>) -> anyhow::Result<()> {
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
        // Read from the active OpenTelemetry context (the call's, made
        // current by layers::observe) when a line is written, so calls that
        // log nothing pay nothing for them.
        let fields = layer.inner_layer_mut();
        fields.add_dynamic_field("trace_id", |_, _| current_ids().map(|(trace, _)| trace));
        fields.add_dynamic_field("span_id", |_, _| current_ids().map(|(_, span)| span));
        fields.add_dynamic_field("rpc.service", |_, _| current_rpc().map(|call| call.service));
        fields.add_dynamic_field("rpc.method", |_, _| current_rpc().map(|call| call.method));
        // The caller of an authenticated call (see layers::auth).
        fields.add_dynamic_field("enduser.id", |_, _| {
            crate::auth::current_subject().map(|subject| subject.to_string())
        });
        layer.with_filter(filter).boxed()
    } else {
        fmt::layer().with_filter(filter).boxed()
    };
    let layers: Vec<BoxedLayer> = std::iter::once(lines).chain(extra).collect();
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

thread_local! {
    static CURRENT_CALL: RefCell<Option<CallRpc>> = const { RefCell::new(None) };
}

/// The call being polled on this thread, if any.
fn current_rpc() -> Option<CallRpc> {
    scoped::current(&CURRENT_CALL)
}

/// Makes `call` current on this thread until the guard drops.
pub(crate) fn enter_call(call: &CallRpc) -> Scoped<CallRpc> {
    scoped::enter(&CURRENT_CALL, call)
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
    fn call_fields_come_from_the_call_entered_on_this_thread() {
        assert!(current_rpc().is_none());
        let call = CallRpc {
            name: Cow::Borrowed("user.Users/ListUser"),
            service: Cow::Borrowed("user.Users"),
            method: Cow::Borrowed("ListUser"),
        };
        {
            let _entered = enter_call(&call);
            let current = current_rpc().expect("the call");
            assert_eq!(
                (&*current.service, &*current.method),
                ("user.Users", "ListUser")
            );
        }
        assert!(current_rpc().is_none());
    }
}
