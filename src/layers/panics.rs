//! Turns a panicking handler into a gRPC INTERNAL answer, so one bad call
//! neither kills its connection nor reaches the client as an HTTP 500.
use std::any::Any;

use opentelemetry::{KeyValue, trace::TraceContextExt};
use tonic::Status;

use crate::telemetry::panic_message;

/// The INTERNAL answer (trailers-only, no panic text) to a call to `path`
/// whose handler panicked with `payload`; the panic is logged and recorded
/// on the call's span.
pub(crate) fn answer_panic<B: Default>(
    payload: &(dyn Any + Send),
    path: &str,
) -> http::Response<B> {
    let message = panic_message(payload);
    tracing::error!(
        rpc.path = %path,
        panic.message = %message,
        "call panicked; answered INTERNAL"
    );
    // The OpenTelemetry exception convention, on the call's span (current
    // while the call is polled; see layers::observe).
    opentelemetry::Context::current().span().add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", "panic"),
            KeyValue::new("exception.message", message.to_owned()),
        ],
    );
    Status::internal("internal error").into_http()
}
