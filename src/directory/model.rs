//! The directory's validated values: what a user is once it got past the edge.
use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

/// The prefix of every user's resource name.
pub const NAME_PREFIX: &str = "users/";
/// The longest a client-chosen user id may be (AIP-122: 63 characters).
const MAX_USER_ID: usize = 63;
/// The longest an email may be, in bytes (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// The longest a display name may be, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// The final segment of a user's name: chosen by the client
/// (`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`) or by the server (a UUID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// A client-chosen id, checked against the AIP-122 pattern.
    pub fn parse(id: &str) -> Result<Self, &'static str> {
        match is_client_id(id) {
            true => Ok(Self(id.to_owned())),
            false => Err(
                "must match ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$: lowercase letters, digits and hyphens, starting with a letter, at most 63 characters",
            ),
        }
    }

    /// A server-chosen id: a fresh UUID4.
    pub fn generate() -> Self {
        Self(Uuid::new_v4().to_string())
    }

    /// The id of a resource name `users/{user_id}`; the id is either a
    /// client-chosen one or a server-chosen UUID in its canonical form.
    pub fn from_name(name: &str) -> Result<Self, &'static str> {
        let Some(id) = name.strip_prefix(NAME_PREFIX) else {
            return Err("must be a resource name of the form users/{user_id}");
        };
        match is_client_id(id) || is_server_chosen_id(id) {
            true => Ok(Self(id.to_owned())),
            false => Err("must be users/{user_id} with a valid user_id"),
        }
    }

    /// Rebuilds an id the store holds (it was validated when written).
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `users/{user_id}`.
    pub fn name(&self) -> String {
        // Built by hand: `format!` costs several times as much per user.
        let mut name = String::with_capacity(NAME_PREFIX.len() + self.0.len());
        name.push_str(NAME_PREFIX);
        name.push_str(&self.0);
        name
    }
}

/// The form the server gives ids it picks: a UUID, lower-case and
/// hyphenated. Checked byte by byte, not parsed and printed again: every
/// call that names a user pays for this.
fn is_server_chosen_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_digit() || (b'a'..=b'f').contains(byte),
        })
}

fn is_client_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    bytes.len() <= MAX_USER_ID
        && first.is_ascii_lowercase()
        && (last.is_ascii_lowercase() || last.is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// An email address: at most 254 bytes, one `@` between a non-empty local
/// part and a non-empty domain. Kept as given; compared by [`Email::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks the address.
    pub fn parse(email: &str) -> Result<Self, String> {
        if email.is_empty() {
            return Err("is required".to_owned());
        }
        if email.len() > MAX_EMAIL_BYTES {
            return Err(format!("must be at most {MAX_EMAIL_BYTES} bytes"));
        }
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(Self(email.to_owned()))
            }
            _ => Err("must have one @ between a non-empty local part and domain".to_owned()),
        }
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is decided on: lowercased, so `A@x` and `a@X`
    /// are the same address.
    pub fn key(&self) -> String {
        email_key(&self.0)
    }
}

/// The case-insensitive comparison key of an email as text.
pub fn email_key(email: &str) -> String {
    email.to_lowercase()
}

/// A name for people to read: at most 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisplayName(String);

impl DisplayName {
    /// Checks the name; empty is allowed.
    pub fn parse(name: &str) -> Result<Self, String> {
        if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(format!(
                "must be at most {MAX_DISPLAY_NAME_CHARS} characters"
            ));
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Exists; its email is reserved for it.
    Active,
    /// Soft-deleted: undeletable until its purge time.
    Deleted,
}

impl State {
    /// Its number in the store (the proto enum's value).
    pub fn code(self) -> i64 {
        match self {
            Self::Active => 1,
            Self::Deleted => 2,
        }
    }

    /// The state a stored number stands for.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Active),
            2 => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// A point in time, in microseconds since the Unix epoch: the precision
/// both stores keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub i64);

impl Micros {
    /// Now, by the system clock.
    pub fn now() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self(i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX))
    }

    /// This time plus `duration` (saturating).
    pub fn plus(self, duration: std::time::Duration) -> Self {
        let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(micros))
    }

    /// As a protobuf Timestamp.
    pub fn to_timestamp(self) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: self.0.div_euclid(1_000_000),
            // Below 1e9 by construction.
            nanos: (self.0.rem_euclid(1_000_000) * 1000) as i32,
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id (the last segment of its name).
    pub id: UserId,
    /// Server-assigned, never reused.
    pub uid: Uuid,
    /// As given.
    pub email: String,
    /// As given.
    pub display_name: String,
    /// Active or deleted.
    pub state: State,
    /// When it was created.
    pub create_time: Micros,
    /// When it was last written.
    pub update_time: Micros,
    /// Set while deleted.
    pub delete_time: Option<Micros>,
    /// Set while deleted.
    pub purge_time: Option<Micros>,
    /// Changes on every write.
    pub etag: String,
}

/// A fresh etag: 64 random bits as hex. Random, not a counter, so an id that
/// is purged and created again never repeats an old etag.
pub fn new_etag() -> String {
    let mut bytes = [0u8; 8];
    // The operating system's generator failing is not recoverable here;
    // a UUID4 (which has its own fallback-free source) stands in.
    if getrandom::fill(&mut bytes).is_err() {
        bytes.copy_from_slice(&Uuid::new_v4().as_bytes()[..8]);
    }
    format!("{:016x}", u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests;
