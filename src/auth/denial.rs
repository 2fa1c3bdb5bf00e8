//! Why a call was refused, as the client sees it: UNAUTHENTICATED for a
//! credential that is missing or does not hold, PERMISSION_DENIED for a
//! valid one without the scope, each with its `ErrorInfo` reason.
use tonic::{Code, Status};

use super::Scope;
use crate::errors;

/// The outcomes of a decision, counted by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Let in.
    Allowed,
    /// No credential at all.
    TokenMissing,
    /// A token past its `exp`.
    TokenExpired,
    /// A token that is malformed, wrongly signed, not yet valid, or for
    /// another issuer or audience.
    TokenInvalid,
    /// A valid credential without the scope the method needs.
    InsufficientScope,
    /// No signing keys could be loaded yet (the JWKS URL is down).
    KeysUnavailable,
}

impl Outcome {
    /// Every outcome, in counter order.
    pub const ALL: [Self; 6] = [
        Self::Allowed,
        Self::TokenMissing,
        Self::TokenExpired,
        Self::TokenInvalid,
        Self::InsufficientScope,
        Self::KeysUnavailable,
    ];

    /// The `ErrorInfo` reason (and the metric's `reason` label).
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Allowed => "ALLOWED",
            Self::TokenMissing => "TOKEN_MISSING",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::TokenInvalid => "TOKEN_INVALID",
            Self::InsufficientScope => "INSUFFICIENT_SCOPE",
            Self::KeysUnavailable => "KEYS_UNAVAILABLE",
        }
    }

    const fn code(self) -> Code {
        match self {
            Self::Allowed => Code::Ok,
            Self::InsufficientScope => Code::PermissionDenied,
            Self::KeysUnavailable => Code::Unavailable,
            _ => Code::Unauthenticated,
        }
    }
}

/// A refusal: its outcome, its message, and the scope that was needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Why.
    pub outcome: Outcome,
    message: &'static str,
    scope: Option<Scope>,
}

impl Denial {
    fn new(outcome: Outcome, message: &'static str) -> Self {
        Self {
            outcome,
            message,
            scope: None,
        }
    }

    pub(crate) fn missing() -> Self {
        Self::new(
            Outcome::TokenMissing,
            "this method needs `authorization: Bearer <token>`",
        )
    }

    pub(crate) fn expired() -> Self {
        Self::new(Outcome::TokenExpired, "the token has expired")
    }

    pub(crate) fn invalid(message: &'static str) -> Self {
        Self::new(Outcome::TokenInvalid, message)
    }

    pub(crate) fn unknown_key() -> Self {
        Self::invalid("the token's key (kid) is not among the issuer's keys")
    }

    pub(crate) fn unavailable() -> Self {
        Self::new(
            Outcome::KeysUnavailable,
            "the signing keys are not available yet; retry later",
        )
    }

    pub(crate) fn insufficient_scope(scope: Scope) -> Self {
        Self {
            outcome: Outcome::InsufficientScope,
            message: "the caller lacks the scope this method needs",
            scope: Some(scope),
        }
    }

    /// The status the client gets; `INSUFFICIENT_SCOPE` names the needed
    /// scope in its `ErrorInfo` metadata (`scope`).
    pub fn status(&self) -> Status {
        let metadata = self.scope.map(|scope| ("scope", scope.name()));
        errors::status_with_metadata(
            self.outcome.code(),
            self.message,
            self.outcome.reason(),
            metadata,
        )
    }
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;

    #[test]
    fn a_missing_scope_is_permission_denied_naming_the_scope() {
        let status = Denial::insufficient_scope(Scope::Write).status();
        assert_eq!(status.code(), Code::PermissionDenied);
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "INSUFFICIENT_SCOPE");
        assert_eq!(info.domain, "user-service");
        assert_eq!(
            info.metadata.get("scope").map(String::as_str),
            Some("users.write")
        );
    }

    #[test]
    fn credential_problems_are_unauthenticated_and_missing_keys_unavailable() {
        for denial in [Denial::missing(), Denial::expired(), Denial::unknown_key()] {
            assert_eq!(denial.status().code(), Code::Unauthenticated);
        }
        assert_eq!(Denial::unavailable().status().code(), Code::Unavailable);
    }
}
