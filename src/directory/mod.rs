//! The user directory, `user.v1.UserService`: validated values at the edge,
//! the store interface, page tokens, the handlers and their errors.

mod convert;
mod error;
mod filter;
mod model;
mod ordering;
mod page_token;
mod query;
pub mod requests;
mod service;
mod store;
mod transitions;

pub use error::{DirectoryError, FieldViolation};
pub use filter::{Condition, Filter};
pub use model::{
    DisplayName, Email, MAX_DISPLAY_NAME_CHARS, MAX_EMAIL_BYTES, Micros, NAME_PREFIX, State, User,
    UserId, email_key, new_etag,
};
pub use ordering::{Ordering, SortField};
pub use page_token::{PageTokens, TokenError};
pub use query::{Cursor, ListQuery, SortKey};
pub use service::Directory;
pub use store::{Changes, NewUser, PoolUsage, SoftDelete, StoreError, StoreInfo, UserStore, Write};
