//! What a request path names: service, method, and the kind of call.
use tonic::Code;

use crate::proto::users_server::SERVICE_NAME as USERS;

const HEALTH: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// The call shapes, named as Prometheus gRPC dashboards name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrpcType {
    Unary,
    ServerStream,
    BidiStream,
}

impl GrpcType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Unary => "unary",
            Self::ServerStream => "server_stream",
            Self::BidiStream => "bidi_stream",
        }
    }
}

/// A method this server serves.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Method {
    /// Its position in [`CATALOG`], so per-method state can live in arrays.
    pub(crate) index: usize,
    pub(crate) service: &'static str,
    pub(crate) method: &'static str,
    /// `service/method`, the name of its calls' spans.
    pub(crate) path_name: &'static str,
    pub(crate) grpc_type: GrpcType,
}

const fn method(
    index: usize,
    service: &'static str,
    name: &'static str,
    path_name: &'static str,
    kind: GrpcType,
) -> Method {
    Method {
        index,
        service,
        method: name,
        path_name,
        grpc_type: kind,
    }
}

impl Method {
    /// False for the catalog's stand-in for unserved paths.
    pub(crate) fn is_served(&self) -> bool {
        self.index < CATALOG.len() - 1
    }
}

/// Every method this server serves. Metrics label only these, so random
/// paths from clients cannot blow up label cardinality.
pub(crate) const CATALOG: [Method; 6] = [
    method(0, USERS, "ListUser", "user.Users/ListUser", GrpcType::Unary),
    method(
        1,
        HEALTH,
        "Check",
        "grpc.health.v1.Health/Check",
        GrpcType::Unary,
    ),
    method(
        2,
        HEALTH,
        "Watch",
        "grpc.health.v1.Health/Watch",
        GrpcType::ServerStream,
    ),
    method(
        3,
        REFLECTION_V1,
        "ServerReflectionInfo",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        GrpcType::BidiStream,
    ),
    method(
        4,
        REFLECTION_V1ALPHA,
        "ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        GrpcType::BidiStream,
    ),
    // Stands for every path outside the catalog.
    method(5, "unknown", "unknown", "unknown", GrpcType::Unary),
];

/// A request path split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RpcPath<'a> {
    pub(crate) service: &'a str,
    pub(crate) method: &'a str,
}

impl<'a> RpcPath<'a> {
    /// `/user.Users/ListUser` → `user.Users`, `ListUser`.
    pub(crate) fn parse(path: &'a str) -> Self {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let (service, method) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        Self { service, method }
    }

    /// Health and reflection: infrastructure, not traced by default.
    pub(crate) fn is_infrastructure(&self) -> bool {
        matches!(self.service, HEALTH | REFLECTION_V1 | REFLECTION_V1ALPHA)
    }

    /// The catalog entry for this path (the `unknown` one when not served).
    pub(crate) fn known(&self) -> &'static Method {
        CATALOG
            .iter()
            .find(|entry| entry.service == self.service && entry.method == self.method)
            .unwrap_or(&CATALOG[CATALOG.len() - 1])
    }
}

/// The header or trailer that carries a call's status, as a `HeaderName`:
/// looking it up by `&str` parses the name on every call before hashing it.
pub(crate) static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

/// The final status of a call from a `grpc-status` header or trailer.
pub(crate) fn status_code(headers: &http::HeaderMap) -> Option<Code> {
    let value = headers.get(&GRPC_STATUS)?.to_str().ok()?;
    value.parse::<i32>().ok().map(Code::from_i32)
}

/// Every gRPC code, in numeric order.
pub(crate) const ALL_CODES: [Code; 17] = [
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
pub(crate) fn code_name(code: Code) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        let path = RpcPath::parse("/user.Users/ListUser");
        assert_eq!((path.service, path.method), ("user.Users", "ListUser"));
        assert_eq!(path.known(), &CATALOG[0]);
        assert_eq!(
            (path.known().service, path.known().method),
            (USERS, "ListUser")
        );
        assert!(!path.is_infrastructure());
    }

    #[test]
    fn unknown_paths_share_one_label() {
        let path = RpcPath::parse("/evil.Service/Random123");
        assert_eq!(path.known().service, "unknown");
        assert_eq!(RpcPath::parse("garbage").known().method, "unknown");
    }

    #[test]
    fn health_and_reflection_are_infrastructure() {
        assert!(RpcPath::parse("/grpc.health.v1.Health/Watch").is_infrastructure());
        let reflection =
            RpcPath::parse("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
        assert!(reflection.is_infrastructure());
        assert_eq!(reflection.known().grpc_type, GrpcType::BidiStream);
    }

    #[test]
    fn catalog_indexes_match_positions() {
        for (position, entry) in CATALOG.iter().enumerate() {
            assert_eq!(entry.index, position);
        }
    }

    #[test]
    fn code_names_follow_grpc_dashboards() {
        for (number, code) in ALL_CODES.iter().enumerate() {
            assert_eq!(*code as usize, number);
        }
        assert_eq!(code_name(Code::Ok), "OK");
        assert_eq!(code_name(Code::NotFound), "NotFound");
    }
}
