//! A validated ListUsers query: filter, order and the position to go on from.
use super::{
    filter::Filter,
    model::{Micros, User, UserId, email_key},
    ordering::{Ordering, SortField},
};

/// The value a page's last user had in the sort column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// `create_time`.
    Time(Micros),
    /// `email` (its case-insensitive key) or `display_name`.
    Text(String),
}

/// Where the previous page ended: its last user's sort key and id (ids
/// break ties, so the position is exact even among equal keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The last user's sort key.
    pub key: SortKey,
    /// The last user's id.
    pub id: UserId,
}

impl Cursor {
    /// The position right after `user` in `ordering`.
    pub fn after(user: &User, ordering: Ordering) -> Self {
        let key = match ordering.field {
            SortField::CreateTime => SortKey::Time(user.create_time),
            SortField::Email => SortKey::Text(email_key(&user.email)),
            SortField::DisplayName => SortKey::Text(user.display_name.clone()),
        };
        Self {
            key,
            id: user.id.clone(),
        }
    }
}

/// One page's worth of a listing, as the store runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Conditions every listed user meets.
    pub filter: Filter,
    /// The order.
    pub ordering: Ordering,
    /// Also list deleted users.
    pub show_deleted: bool,
    /// Start after this position; `None` is the first page.
    pub after: Option<Cursor>,
    /// The most users to return.
    pub limit: u32,
}
