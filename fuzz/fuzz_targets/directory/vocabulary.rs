//! The values the carver picks from: the seeded users, and edge cases of
//! the contract (DESIGN.md §10) that random bytes seldom hit: ids at the
//! length and charset bounds, UUIDs in both cases, unsupported filter syntax
//! and orderings, page sizes at the bounds, output-only and unknown paths.

/// Users seeded once per process: id, email, display name. `cat` is
/// deleted at seeding, so Undelete and DELETED states are reached.
pub const SEEDED: [(&str, &str, &str); 4] = [
    ("ann", "ann@example.org", "Ann"),
    ("bob", "Bob@Example.org", "Bob"),
    ("cat", "cat@example.org", "Cat"),
    ("dan", "dan@example.org", ""),
];
/// The seeded user deleted at seeding.
pub const DELETED: &str = "cat";

/// User ids around the rules: length 1, 63 and 64, bad first or last
/// characters, upper case, a slash, a space.
pub const EDGE_IDS: [&str; 10] = [
    "a",
    "a-",
    "-a",
    "Ann",
    "9a",
    "a--b",
    "ann/x",
    "ann ",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];
/// Request ids: UUIDs, one in upper case.
pub const UUIDS: [&str; 3] = [
    "123e4567-e89b-42d3-a456-426614174000",
    "00000000-0000-4000-8000-000000000001",
    "123E4567-E89B-42D3-A456-426614174000",
];
/// Filter conditions, supported and not.
pub const CONDITIONS: [&str; 12] = [
    "email = \"ann@example.org\"",
    "email = \"BOB@example.ORG\"",
    "display_name = \"Ann\"",
    "display_name = \"\"",
    "state = ACTIVE",
    "state = DELETED",
    "state = PURGED",
    "uid = \"x\"",
    "email != \"ann@example.org\"",
    "email = \"unterminated",
    "NOT state = ACTIVE",
    "state = ACTIVE OR state = DELETED",
];
/// `order_by` values, supported and not.
pub const ORDERS: [&str; 10] = [
    "",
    "create_time",
    "create_time desc",
    "email",
    "email desc",
    "display_name",
    "display_name asc",
    "email, display_name",
    "uid",
    "email sideways",
];
/// Page sizes at the coercion bounds.
pub const PAGE_SIZES: [i32; 10] = [0, 1, 2, 3, 50, 1000, 1001, -1, i32::MIN, i32::MAX];
/// Update mask paths: the fields, `*`, output-only and unknown ones.
pub const MASK_PATHS: [&str; 13] = [
    "email",
    "display_name",
    "*",
    "name",
    "uid",
    "state",
    "create_time",
    "update_time",
    "delete_time",
    "purge_time",
    "etag",
    "Email",
    "user.email",
];
