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

/// Every method this server serves. Metrics label only these, so random
/// paths from clients cannot blow up label cardinality.
const CATALOG: [(&str, &str, GrpcType); 6] = [
    (USERS, "ListUser", GrpcType::Unary),
    (HEALTH, "Check", GrpcType::Unary),
    (HEALTH, "Watch", GrpcType::ServerStream),
    (REFLECTION_V1, "ServerReflectionInfo", GrpcType::BidiStream),
    (
        REFLECTION_V1ALPHA,
        "ServerReflectionInfo",
        GrpcType::BidiStream,
    ),
    // Stands for every path outside the catalog.
    ("unknown", "unknown", GrpcType::Unary),
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
    pub(crate) fn known(&self) -> (&'static str, &'static str, GrpcType) {
        CATALOG
            .iter()
            .copied()
            .find(|(service, method, _)| *service == self.service && *method == self.method)
            .unwrap_or(CATALOG[CATALOG.len() - 1])
    }
}

/// The final status of a call from a `grpc-status` header or trailer.
pub(crate) fn status_code(headers: &http::HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    value.parse::<i32>().ok().map(Code::from_i32)
}

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
        assert_eq!(path.known(), (USERS, "ListUser", GrpcType::Unary));
        assert!(!path.is_infrastructure());
    }

    #[test]
    fn unknown_paths_share_one_label() {
        let path = RpcPath::parse("/evil.Service/Random123");
        assert_eq!(path.known().0, "unknown");
        assert_eq!(RpcPath::parse("garbage").known().1, "unknown");
    }

    #[test]
    fn health_and_reflection_are_infrastructure() {
        assert!(RpcPath::parse("/grpc.health.v1.Health/Watch").is_infrastructure());
        let reflection =
            RpcPath::parse("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
        assert!(reflection.is_infrastructure());
        assert_eq!(reflection.known().2, GrpcType::BidiStream);
    }

    #[test]
    fn code_names_follow_grpc_dashboards() {
        assert_eq!(code_name(Code::Ok), "OK");
        assert_eq!(code_name(Code::NotFound), "NotFound");
    }
}
