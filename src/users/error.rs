//! The Users domain errors and their one mapping to gRPC statuses: the Rust
//! form of the original service's exception-to-status interceptor.
use tonic::Status;

/// Everything a Users call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The id is reserved and never names a user. The message is part of the
    /// wire contract and must not change.
    #[error("Sorry, id is not allowed {0}")]
    IdNotAllowed(i32),
    /// A failure the client cannot fix; its cause stays in the logs.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<UserError> for Status {
    fn from(err: UserError) -> Self {
        match err {
            UserError::IdNotAllowed(_) => Status::not_found(err.to_string()),
            UserError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "users.unexpected_error");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn id_not_allowed_maps_to_not_found_with_the_contract_message() {
        let status = Status::from(UserError::IdNotAllowed(0));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "Sorry, id is not allowed 0");
    }

    #[test]
    fn unexpected_maps_to_internal_without_leaking_the_cause() {
        let cause = anyhow::anyhow!("db password is hunter2");
        let status = Status::from(UserError::Unexpected(cause));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }
}
