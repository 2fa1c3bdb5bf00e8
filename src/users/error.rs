//! The Users domain errors and their one mapping to gRPC statuses: the Rust
//! form of the original service's exception-to-status interceptor.
use tonic::{Code, Status};
use tonic_types::ErrorDetails;

use crate::errors;

/// Everything a Users call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The id is reserved and never names a user. The message is part of the
    /// wire contract and must not change.
    #[error("Sorry, id is not allowed {0}")]
    IdNotAllowed(i32),
    /// The name is longer than `limits.max_name_length`.
    #[error("name is too long: {length} bytes, at most {max} allowed")]
    NameTooLong {
        /// Its length in UTF-8 bytes.
        length: usize,
        /// The configured limit.
        max: usize,
    },
    /// A failure the client cannot fix; its cause stays in the logs.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<UserError> for Status {
    fn from(err: UserError) -> Self {
        match err {
            UserError::IdNotAllowed(_) => {
                errors::status(Code::NotFound, err.to_string(), "ID_NOT_ALLOWED")
            }
            UserError::NameTooLong { max, .. } => {
                let details = ErrorDetails::with_bad_request_violation(
                    "name",
                    format!("must be at most {max} bytes of UTF-8"),
                );
                errors::status_with_details(
                    Code::InvalidArgument,
                    err.to_string(),
                    "NAME_TOO_LONG",
                    details,
                )
            }
            UserError::Unexpected(cause) => {
                tracing::error!(error = format!("{cause:#}"), "users.unexpected_error");
                errors::status(Code::Internal, "internal error", "INTERNAL")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;

    #[test]
    fn id_not_allowed_maps_to_not_found_with_the_contract_message() {
        let status = Status::from(UserError::IdNotAllowed(0));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "Sorry, id is not allowed 0");
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "ID_NOT_ALLOWED");
        assert_eq!(info.domain, "user-service");
    }

    #[test]
    fn a_long_name_is_an_invalid_argument_naming_the_field() {
        let status = Status::from(UserError::NameTooLong { length: 10, max: 8 });
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad_request = status.get_details_bad_request().expect("BadRequest");
        assert_eq!(bad_request.field_violations.len(), 1);
        assert_eq!(bad_request.field_violations[0].field, "name");
        assert_eq!(
            status.get_details_error_info().expect("ErrorInfo").reason,
            "NAME_TOO_LONG"
        );
    }

    #[test]
    fn unexpected_maps_to_internal_without_leaking_the_cause() {
        let cause = anyhow::anyhow!("db password is hunter2");
        let status = Status::from(UserError::Unexpected(cause));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
        assert!(!format!("{:?}", status.details()).contains("hunter2"));
    }
}
