//! gRPC status codes as calls carry them and as dashboards name them.
use tonic::Code;

/// The header or trailer that carries a call's status, as a `HeaderName`:
/// looking it up by `&str` would parse the name on every call.
static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

/// The `grpc-status` value of an answer's headers or trailers.
pub(crate) fn grpc_status(headers: &http::HeaderMap) -> Option<&http::HeaderValue> {
    crate::headers::find(headers, &GRPC_STATUS)
}

/// The final status of a call from a `grpc-status` header or trailer.
pub fn status_code(headers: &http::HeaderMap) -> Option<Code> {
    let value = grpc_status(headers)?.to_str().ok()?;
    value.parse::<i32>().ok().map(Code::from_i32)
}

/// Every gRPC code, in numeric order.
pub const ALL_CODES: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

/// The code's name as gRPC metrics and dashboards spell it (`OK`, `NotFound`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}
