//! The gRPC handler: converts at the edge and stays thin.
use tonic::{Request, Response, Status};

use crate::{
    proto::{UserRequest, UserResponse, users_server::Users},
    settings::LimitsSettings,
};

use super::{UserError, UserQuery};

/// The legacy `user.Users` service as the server runs it.
#[derive(Debug, Clone)]
pub struct LegacyUsers {
    /// `limits.max_name_length`, in bytes.
    max_name_length: usize,
}

impl LegacyUsers {
    /// The service with the configured limits.
    pub fn new(limits: &LimitsSettings) -> Self {
        Self {
            max_name_length: limits.name_length_limit(),
        }
    }

    fn answer(&self, request: UserRequest) -> Result<UserResponse, UserError> {
        let query = UserQuery::parse(request, self.max_name_length)?;
        Ok(UserResponse {
            details: query.details(),
        })
    }
}

impl Default for LegacyUsers {
    fn default() -> Self {
        Self::new(&LimitsSettings::default())
    }
}

#[tonic::async_trait]
impl Users for LegacyUsers {
    async fn list_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        Ok(Response::new(self.answer(request.into_inner())?))
    }
}
