//! The directory's errors and their one mapping to gRPC statuses (AIP-193:
//! each case has its code and a stable `ErrorInfo` reason).
use tonic::{Code, Status};
use tonic_types::ErrorDetails;

use super::{model::UserId, page_token::TokenError, store::StoreError};
use crate::errors;

/// A field and what is wrong with it, as `BadRequest` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `user.email`.
    pub field: &'static str,
    /// What is wrong.
    pub description: String,
}

/// Everything a directory call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Fields of the request are invalid (all of them are listed).
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The page token is not usable.
    #[error(transparent)]
    PageToken(#[from] TokenError),
    /// The store refused or failed the operation on a user.
    #[error("{error}")]
    Store {
        /// The user concerned, when there is one.
        id: Option<UserId>,
        /// What the store said.
        error: StoreError,
    },
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl DirectoryError {
    /// A store error about user `id`.
    pub fn store(id: &UserId) -> impl FnOnce(StoreError) -> Self + '_ {
        move |error| Self::Store {
            id: Some(id.clone()),
            error,
        }
    }

    /// A store error not about one user.
    pub fn store_wide(error: StoreError) -> Self {
        Self::Store { id: None, error }
    }
}

impl From<DirectoryError> for Status {
    fn from(err: DirectoryError) -> Self {
        match err {
            DirectoryError::InvalidArgument(violations) => {
                let message = describe(&violations);
                let mut details = ErrorDetails::new();
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                errors::status_with_details(
                    Code::InvalidArgument,
                    message,
                    "INVALID_ARGUMENT",
                    details,
                )
            }
            DirectoryError::PageToken(token) => {
                let reason = match token {
                    TokenError::Invalid => "INVALID_PAGE_TOKEN",
                    TokenError::Mismatch => "PAGE_TOKEN_MISMATCH",
                    TokenError::Expired => "PAGE_TOKEN_EXPIRED",
                };
                let details =
                    ErrorDetails::with_bad_request_violation("page_token", token.to_string());
                errors::status_with_details(
                    Code::InvalidArgument,
                    token.to_string(),
                    reason,
                    details,
                )
            }
            DirectoryError::Store { id, error } => store_status(id, error),
        }
    }
}

fn store_status(id: Option<UserId>, error: StoreError) -> Status {
    let name = id
        .map(|id| id.name())
        .unwrap_or_else(|| "the user".to_owned());
    let (code, message, reason) = match &error {
        StoreError::NotFound => (
            Code::NotFound,
            format!("{name} not found"),
            "USER_NOT_FOUND",
        ),
        StoreError::UserIdTaken => (
            Code::AlreadyExists,
            format!("{name} already exists"),
            "USER_ALREADY_EXISTS",
        ),
        StoreError::EmailTaken => (
            Code::AlreadyExists,
            "another user that is not deleted has this email".to_owned(),
            "EMAIL_ALREADY_EXISTS",
        ),
        StoreError::EtagMismatch => (
            Code::Aborted,
            format!("etag is not the current etag of {name}: read it again and retry"),
            "ETAG_MISMATCH",
        ),
        StoreError::Deleted => (
            Code::FailedPrecondition,
            format!("{name} is deleted: undelete it first"),
            "USER_DELETED",
        ),
        StoreError::NotDeleted => (
            Code::AlreadyExists,
            format!("{name} is not deleted"),
            "USER_NOT_DELETED",
        ),
        StoreError::Unavailable(cause) => {
            tracing::warn!(error = format!("{cause:#}"), "store.unavailable");
            (
                Code::Unavailable,
                "the user store is unavailable; retry later".to_owned(),
                "STORE_UNAVAILABLE",
            )
        }
        StoreError::Full(cause) => {
            tracing::error!(error = format!("{cause:#}"), "store.full");
            (
                Code::ResourceExhausted,
                "the user store is out of space".to_owned(),
                "STORE_FULL",
            )
        }
        StoreError::Conflict(cause) => {
            tracing::info!(error = format!("{cause:#}"), "store.conflict");
            (
                Code::Aborted,
                "a concurrent change won; retry".to_owned(),
                "STORE_CONFLICT",
            )
        }
        StoreError::Unexpected(cause) => {
            tracing::error!(error = format!("{cause:#}"), "store.unexpected_error");
            (Code::Internal, "internal error".to_owned(), "INTERNAL")
        }
    };
    errors::status(code, message, reason)
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;

    fn reason(status: &Status) -> String {
        status.get_details_error_info().expect("ErrorInfo").reason
    }

    #[test]
    fn every_violation_is_listed() {
        let status = Status::from(DirectoryError::InvalidArgument(vec![
            FieldViolation {
                field: "user.email",
                description: "is required".to_owned(),
            },
            FieldViolation {
                field: "user_id",
                description: "bad".to_owned(),
            },
        ]));
        assert_eq!(status.code(), Code::InvalidArgument);
        let fields: Vec<_> = status
            .get_details_bad_request()
            .expect("BadRequest")
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["user.email", "user_id"]);
        assert_eq!(reason(&status), "INVALID_ARGUMENT");
    }

    #[test]
    fn store_answers_keep_their_codes_and_failures_leak_nothing() {
        let id = UserId::from_stored("ann".to_owned());
        let cases = [
            (StoreError::NotFound, Code::NotFound, "USER_NOT_FOUND"),
            (StoreError::EtagMismatch, Code::Aborted, "ETAG_MISMATCH"),
            (
                StoreError::Deleted,
                Code::FailedPrecondition,
                "USER_DELETED",
            ),
            (
                StoreError::Unavailable(anyhow::anyhow!("secret-path")),
                Code::Unavailable,
                "STORE_UNAVAILABLE",
            ),
            (
                StoreError::Full(anyhow::anyhow!("secret-path")),
                Code::ResourceExhausted,
                "STORE_FULL",
            ),
            (
                StoreError::Unexpected(anyhow::anyhow!("secret-path")),
                Code::Internal,
                "INTERNAL",
            ),
        ];
        for (error, code, expected) in cases {
            let status = Status::from(DirectoryError::store(&id)(error));
            assert_eq!(status.code(), code);
            assert_eq!(reason(&status), expected);
            assert!(!status.message().contains("secret-path"));
        }
    }

    #[test]
    fn page_token_errors_name_the_field() {
        let status = Status::from(DirectoryError::PageToken(TokenError::Expired));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(reason(&status), "PAGE_TOKEN_EXPIRED");
        let bad = status.get_details_bad_request().expect("BadRequest");
        assert_eq!(bad.field_violations[0].field, "page_token");
    }
}
