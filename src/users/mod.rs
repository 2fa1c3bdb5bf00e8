//! The `user.Users` service: request validation, the domain rule, and the
//! mapping of its errors to gRPC statuses.

mod error;
mod limited;
mod query;
mod service;

pub use error::UserError;
pub use limited::LimitedUsers;
pub use query::UserQuery;
pub use service::UserDirectory;
