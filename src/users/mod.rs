//! The legacy `user.Users` service: request validation as a conversion at
//! the edge, the domain rule, and the mapping of its errors to gRPC statuses.

mod error;
mod query;
mod service;

pub use error::UserError;
pub use query::UserQuery;
pub use service::LegacyUsers;
