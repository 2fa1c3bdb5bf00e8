//! The gRPC handler: converts at the edge and stays thin.
use tonic::{Request, Response, Status};

use crate::proto::{UserRequest, UserResponse, users_server::Users};

use super::{UserError, UserQuery};

/// The `user.Users` service as the server runs it.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory;

impl UserDirectory {
    fn answer(&self, request: UserRequest) -> Result<UserResponse, UserError> {
        let query = UserQuery::try_from(request)?;
        Ok(UserResponse {
            details: query.details(),
        })
    }
}

#[tonic::async_trait]
impl Users for UserDirectory {
    async fn list_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        Ok(Response::new(self.answer(request.into_inner())?))
    }
}
