//! Rich gRPC statuses (AIP-193): every status the service itself produces
//! carries a `google.rpc.ErrorInfo` with a stable machine-readable reason in
//! the domain `user-service`, and a `google.rpc.RequestInfo` whose
//! `request_id` is the call's trace id when one is known, so a client's bug
//! report leads straight to the trace and the logs.
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every status this service produces.
pub const ERROR_DOMAIN: &str = "user-service";

/// The trace id of the call being served, as 32 lowercase hex digits.
///
/// Read from the active OpenTelemetry context, which the call's span makes
/// current while the handler runs; `None` outside a traced call.
pub fn current_trace_id() -> Option<String> {
    crate::telemetry::current_ids().map(|(trace_id, _)| trace_id)
}

/// A status with `ErrorInfo { reason, domain }` and, when the trace id is
/// known, `RequestInfo { request_id: trace id }`.
pub fn status(code: Code, message: impl Into<String>, reason: &str) -> Status {
    status_with_details(code, message, reason, ErrorDetails::new())
}

/// Like [`status`], adding `ErrorInfo` and `RequestInfo` to `details`
/// (which may hold, say, a `BadRequest`).
pub fn status_with_details(
    code: Code,
    message: impl Into<String>,
    reason: &str,
    details: ErrorDetails,
) -> Status {
    rich_status(code, message.into(), reason, details, current_trace_id())
}

/// Like [`status`], with `ErrorInfo.metadata` entries (e.g. the scope a
/// call lacks).
pub fn status_with_metadata<'a>(
    code: Code,
    message: impl Into<String>,
    reason: &str,
    metadata: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Status {
    let mut details = ErrorDetails::new();
    let metadata: std::collections::HashMap<String, String> = metadata
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    if let Some(trace_id) = current_trace_id() {
        details.set_request_info(trace_id, "");
    }
    Status::with_error_details(code, message, details)
}

fn rich_status(
    code: Code,
    message: String,
    reason: &str,
    mut details: ErrorDetails,
    trace_id: Option<String>,
) -> Status {
    details.set_error_info(reason, ERROR_DOMAIN, []);
    if let Some(trace_id) = trace_id {
        details.set_request_info(trace_id, "");
    }
    Status::with_error_details(code, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_carry_their_reason_in_the_service_domain() {
        let status = status(Code::ResourceExhausted, "too busy", "OVERLOADED");
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "too busy");
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "OVERLOADED");
        assert_eq!(info.domain, ERROR_DOMAIN);
    }

    #[test]
    fn other_details_are_kept() {
        let details = ErrorDetails::with_bad_request_violation("name", "too long");
        let status = status_with_details(Code::InvalidArgument, "bad", "NAME_TOO_LONG", details);
        let bad_request = status.get_details_bad_request().expect("BadRequest");
        assert_eq!(bad_request.field_violations[0].field, "name");
        assert!(status.get_details_error_info().is_some());
    }

    #[test]
    fn a_known_trace_id_becomes_the_request_id() {
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".to_owned();
        let status = rich_status(
            Code::Internal,
            "internal error".to_owned(),
            "INTERNAL",
            ErrorDetails::new(),
            Some(trace_id.clone()),
        );
        let info = status.get_details_request_info().expect("RequestInfo");
        assert_eq!(info.request_id, trace_id);
        let without = status_with_details(Code::Internal, "x", "INTERNAL", ErrorDetails::new());
        assert!(without.get_details_request_info().is_none());
    }
}
