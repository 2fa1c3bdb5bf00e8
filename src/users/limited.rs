//! The configured request limits, applied before any `Users` implementation
//! sees a call, so the served path enforces them whatever serves `user.Users`.
use futures::future::BoxFuture;
use tonic::{Request, Response, Status};

use crate::proto::{UserRequest, UserResponse, users_server::Users};

use super::UserError;

/// Wraps a `Users` implementation with `limits.max_name_length`.
#[derive(Debug, Clone)]
pub struct LimitedUsers<U> {
    inner: U,
    max_name_length: usize,
}

impl<U> LimitedUsers<U> {
    /// `inner`, refusing names longer than `max_name_length` bytes.
    pub fn new(inner: U, max_name_length: usize) -> Self {
        Self {
            inner,
            max_name_length,
        }
    }

    fn check(&self, request: &UserRequest) -> Result<(), UserError> {
        let length = request.name.len();
        match length > self.max_name_length {
            true => Err(UserError::NameTooLong {
                length,
                max: self.max_name_length,
            }),
            false => Ok(()),
        }
    }
}

impl<U: Users> Users for LimitedUsers<U> {
    // The signature `#[tonic::async_trait]` gives the trait, written out: the
    // check needs no `.await`, so the inner call's boxed future is passed on
    // instead of being boxed again inside a second one.
    fn list_user<'life0, 'async_trait>(
        &'life0 self,
        request: Request<UserRequest>,
    ) -> BoxFuture<'async_trait, Result<Response<UserResponse>, Status>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        match self.check(request.get_ref()) {
            Ok(()) => self.inner.list_user(request),
            Err(err) => Box::pin(std::future::ready(Err(err.into()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::users::UserDirectory;

    fn request(name: &str) -> Request<UserRequest> {
        Request::new(UserRequest {
            id: 1,
            name: name.to_owned(),
        })
    }

    #[tokio::test]
    async fn names_up_to_the_limit_pass_and_longer_ones_are_invalid() {
        let users = LimitedUsers::new(UserDirectory, 4);
        assert!(users.list_user(request("abcd")).await.is_ok());
        let status = users
            .list_user(request("abcde"))
            .await
            .expect_err("too long");
        assert_eq!(status.code(), Code::InvalidArgument);
    }

    #[tokio::test]
    async fn the_limit_counts_utf8_bytes() {
        let users = LimitedUsers::new(UserDirectory, 4);
        // Two characters, six bytes.
        let status = users.list_user(request("名前")).await.expect_err("6 bytes");
        assert_eq!(status.code(), Code::InvalidArgument);
    }
}
