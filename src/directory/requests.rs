//! The edge: each proto request becomes a validated domain request, or an
//! INVALID_ARGUMENT listing every bad field.
use uuid::Uuid;

use super::{
    error::{DirectoryError, FieldViolation},
    filter::Filter,
    model::{DisplayName, Email, UserId},
    ordering::Ordering,
    store::Changes,
};
use crate::proto::v1;

/// `page_size` 0 means this many.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Larger `page_size`s are lowered to this.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Collects violations so a request reports all of them at once.
#[derive(Debug, Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn check<T, E: ToString>(&mut self, field: &'static str, result: Result<T, E>) -> Option<T> {
        result.map_err(|err| self.add(field, err.to_string())).ok()
    }

    fn add(&mut self, field: &'static str, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field,
            description: description.into(),
        });
    }

    /// `value` when nothing was wrong. Every `Option` the checks returned is
    /// `Some` then, so `value` can combine them with `?`; its `None` is
    /// unreachable and still answers INVALID_ARGUMENT rather than panicking.
    fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, DirectoryError> {
        if !self.0.is_empty() {
            return Err(DirectoryError::InvalidArgument(self.0));
        }
        value().ok_or_else(|| {
            DirectoryError::InvalidArgument(vec![FieldViolation {
                field: "request",
                description: "is invalid".to_owned(),
            }])
        })
    }
}

/// A validated CreateUser.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// The client's id, or `None` for a server-chosen one.
    pub id: Option<UserId>,
    /// The email.
    pub email: Email,
    /// The display name.
    pub display_name: DisplayName,
    /// The idempotency key.
    pub request_id: Option<Uuid>,
    /// Check only.
    pub validate_only: bool,
}

impl TryFrom<v1::CreateUserRequest> for CreateUser {
    type Error = DirectoryError;

    fn try_from(request: v1::CreateUserRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::default();
        let id = match request.user_id.as_str() {
            "" => Some(None),
            id => violations.check("user_id", UserId::parse(id)).map(Some),
        };
        let request_id = request_id(&mut violations, &request.request_id);
        let (email, display_name) = match &request.user {
            Some(user) => (
                violations.check("user.email", Email::parse(&user.email)),
                violations.check("user.display_name", DisplayName::parse(&user.display_name)),
            ),
            None => {
                violations.add("user", "is required");
                (None, None)
            }
        };
        violations.finish(|| {
            Some(Self {
                id: id?,
                email: email?,
                display_name: display_name?,
                request_id: request_id?,
                validate_only: request.validate_only,
            })
        })
    }
}

fn request_id(violations: &mut Violations, request_id: &str) -> Option<Option<Uuid>> {
    if request_id.is_empty() {
        return Some(None);
    }
    let parsed = Uuid::parse_str(request_id)
        .map_err(|_| "must be a UUID, e.g. 123e4567-e89b-42d3-a456-426614174000")
        .map(Some);
    violations.check("request_id", parsed)
}

/// The user a request names (Get, Delete, Undelete).
pub fn named(field: &'static str, name: &str) -> Result<UserId, DirectoryError> {
    let mut violations = Violations::default();
    let id = violations.check(field, UserId::from_name(name));
    violations.finish(|| id)
}

/// A validated ListUsers.
#[derive(Debug, Clone)]
pub struct ListUsers {
    /// Users per page, after coercion.
    pub page_size: u32,
    /// The token, still to be read (it needs the key).
    pub page_token: String,
    /// The filter.
    pub filter: Filter,
    /// The order.
    pub ordering: Ordering,
    /// Also deleted users.
    pub show_deleted: bool,
}

impl ListUsers {
    /// What page tokens of this listing are bound to: everything but the
    /// page size and the position.
    pub fn binding(&self) -> String {
        format!("{}\n{}\n{}", self.filter, self.ordering, self.show_deleted)
    }
}

impl TryFrom<v1::ListUsersRequest> for ListUsers {
    type Error = DirectoryError;

    fn try_from(request: v1::ListUsersRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::default();
        let page_size = match request.page_size {
            size if size < 0 => {
                violations.add("page_size", "must not be negative");
                None
            }
            0 => Some(DEFAULT_PAGE_SIZE),
            size => Some(
                u32::try_from(size)
                    .unwrap_or(MAX_PAGE_SIZE)
                    .min(MAX_PAGE_SIZE),
            ),
        };
        let filter = violations.check("filter", Filter::parse(&request.filter));
        let ordering = violations.check("order_by", Ordering::parse(&request.order_by));
        violations.finish(|| {
            Some(Self {
                page_size: page_size?,
                page_token: request.page_token,
                filter: filter?,
                ordering: ordering?,
                show_deleted: request.show_deleted,
            })
        })
    }
}

/// A validated UpdateUser.
#[derive(Debug, Clone)]
pub struct UpdateUser {
    /// The user updated.
    pub id: UserId,
    /// What changes.
    pub changes: Changes,
    /// The client's etag, when it sent one.
    pub etag: Option<String>,
    /// Create the user when it does not exist.
    pub allow_missing: bool,
}

/// Paths that name output-only fields: refused in an update mask.
const OUTPUT_ONLY: [&str; 8] = [
    "name",
    "uid",
    "state",
    "create_time",
    "update_time",
    "delete_time",
    "purge_time",
    "etag",
];

impl TryFrom<v1::UpdateUserRequest> for UpdateUser {
    type Error = DirectoryError;

    fn try_from(request: v1::UpdateUserRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::default();
        let Some(user) = request.user else {
            violations.add("user", "is required");
            return violations.finish(|| None);
        };
        let id = violations.check("user.name", UserId::from_name(&user.name));
        let paths = request
            .update_mask
            .map(|mask| mask.paths)
            .unwrap_or_default();
        // AIP-134: no mask (or an empty one) means the fields that are set.
        let (mut email, mut display_name) = match paths.is_empty() {
            true => (!user.email.is_empty(), !user.display_name.is_empty()),
            false => (false, false),
        };
        for path in &paths {
            match path.as_str() {
                "*" => (email, display_name) = (true, true),
                "email" => email = true,
                "display_name" => display_name = true,
                path if OUTPUT_ONLY.contains(&path) => {
                    violations.add("update_mask", format!("`{path}` is output only"));
                }
                path => violations.add("update_mask", format!("`{path}` is not a field of User")),
            }
        }
        let email = email
            .then(|| violations.check("user.email", Email::parse(&user.email)))
            .map_or(Some(None), |email| email.map(Some));
        let display_name = display_name
            .then(|| violations.check("user.display_name", DisplayName::parse(&user.display_name)))
            .map_or(Some(None), |name| name.map(Some));
        violations.finish(|| {
            Some(Self {
                id: id?,
                changes: Changes {
                    email: email?,
                    display_name: display_name?,
                },
                etag: etag(user.etag),
                allow_missing: request.allow_missing,
            })
        })
    }
}

/// A non-empty etag, or `None` to skip the check.
pub fn etag(etag: String) -> Option<String> {
    Some(etag).filter(|etag| !etag.is_empty())
}

#[cfg(test)]
mod tests;
