//! The one table of what each method needs (DESIGN.md §11), checked
//! against the method table derived from the descriptors (`crate::methods`)
//! so no served method is ever without an entry.
use crate::methods::{self, Method};

/// A permission a caller may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `users.read`: Get, List and the legacy ListUser.
    Read,
    /// `users.write`: Create, Update, Delete, Undelete.
    Write,
}

impl Scope {
    /// Every scope, in bit order.
    pub const ALL: [Self; 2] = [Self::Read, Self::Write];

    /// The scope's name in tokens and settings.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Read => "users.read",
            Self::Write => "users.write",
        }
    }

    /// The scope called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.name() == name)
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Read => 1,
            Self::Write => 2,
        }
    }
}

/// A set of scopes, as bits: checking one is a mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    /// Adds `scope`.
    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    /// Both sets together.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// True when `scope` is held.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The known scopes among space-separated or listed names; others are
    /// ignored (a token may carry scopes of other services).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut scopes = Self::default();
        for scope in names.into_iter().filter_map(Scope::from_name) {
            scopes.insert(scope);
        }
        scopes
    }
}

/// The scope each API method needs: the table docs/auth.md repeats.
pub const METHOD_SCOPES: [(&str, Scope); 7] = [
    ("user.Users/ListUser", Scope::Read),
    ("user.v1.UserService/GetUser", Scope::Read),
    ("user.v1.UserService/ListUsers", Scope::Read),
    ("user.v1.UserService/CreateUser", Scope::Write),
    ("user.v1.UserService/UpdateUser", Scope::Write),
    ("user.v1.UserService/DeleteUser", Scope::Write),
    ("user.v1.UserService/UndeleteUser", Scope::Write),
];

/// What a call to a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing (health; reflection unless protected).
    Open,
    /// A valid credential, no particular scope (paths no service serves:
    /// unauthenticated callers do not learn which exist).
    Authenticated,
    /// A valid credential holding the scope.
    Scope(Scope),
}

/// What each method of [`methods::table`] needs, by its index.
/// `protect_reflection` puts reflection behind `users.read`.
pub fn access_table(protect_reflection: bool) -> Vec<Access> {
    methods::table()
        .iter()
        .map(|method| access_of(method, protect_reflection))
        .collect()
}

fn access_of(method: &Method, protect_reflection: bool) -> Access {
    if !method.is_served() {
        return Access::Authenticated;
    }
    if method.service.starts_with("grpc.health.") {
        return Access::Open;
    }
    if method.service.starts_with("grpc.reflection.") {
        return match protect_reflection {
            true => Access::Scope(Scope::Read),
            false => Access::Open,
        };
    }
    // A served API method missing from the table (a test forbids it) needs
    // the strongest scope rather than none.
    METHOD_SCOPES
        .iter()
        .find(|(path, _)| *path == method.path_name)
        .map_or(Access::Scope(Scope::Write), |(_, scope)| {
            Access::Scope(*scope)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_api_method_has_exactly_one_entry_and_every_entry_is_served() {
        for method in methods::table().iter().filter(|method| method.is_served()) {
            let infrastructure = method.service.starts_with("grpc.health.")
                || method.service.starts_with("grpc.reflection.");
            let entries = METHOD_SCOPES
                .iter()
                .filter(|(path, _)| *path == method.path_name)
                .count();
            let expected = usize::from(!infrastructure);
            assert_eq!(entries, expected, "{}", method.path_name);
        }
        for (path, _) in METHOD_SCOPES {
            assert!(
                methods::table()
                    .iter()
                    .any(|method| method.path_name == path),
                "{path} is not served"
            );
        }
    }

    #[test]
    fn health_is_open_reflection_is_open_unless_protected_and_unknown_paths_need_a_caller() {
        let open = access_table(false);
        let protected = access_table(true);
        for method in methods::table() {
            let (open, protected) = (open[method.index], protected[method.index]);
            match method.service {
                service if service.starts_with("grpc.health.") => {
                    assert_eq!((open, protected), (Access::Open, Access::Open));
                }
                service if service.starts_with("grpc.reflection.") => {
                    assert_eq!(open, Access::Open);
                    assert_eq!(protected, Access::Scope(Scope::Read));
                }
                _ if !method.is_served() => assert_eq!(open, Access::Authenticated),
                _ => assert!(matches!(open, Access::Scope(_)), "{}", method.path_name),
            }
        }
    }

    #[test]
    fn scopes_are_read_from_names_and_unknown_ones_ignored() {
        let scopes = Scopes::from_names("openid users.read profile".split(' '));
        assert!(scopes.contains(Scope::Read));
        assert!(!scopes.contains(Scope::Write));
    }
}
