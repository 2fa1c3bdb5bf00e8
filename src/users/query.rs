//! A validated ListUser request and the answer it gets.
use crate::proto::{Detail, UserRequest};

use super::UserError;

/// The one id that is refused: the original service answers NOT_FOUND for it.
const FORBIDDEN_ID: i32 = 0;

/// A ListUser request whose id is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    id: i32,
    name: String,
}

impl TryFrom<UserRequest> for UserQuery {
    type Error = UserError;

    fn try_from(request: UserRequest) -> Result<Self, Self::Error> {
        if request.id == FORBIDDEN_ID {
            return Err(UserError::IdNotAllowed(request.id));
        }
        Ok(Self {
            id: request.id,
            name: request.name,
        })
    }
}

impl UserQuery {
    /// The answer's entries: the original service lists the user twice, and
    /// its clients rely on exactly that.
    pub fn details(self) -> Vec<Detail> {
        let detail = Detail {
            id: self.id,
            value: self.name,
        };
        vec![detail.clone(), detail]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: i32, name: &str) -> UserRequest {
        UserRequest {
            id,
            name: name.to_owned(),
        }
    }

    #[test]
    fn id_zero_is_refused() {
        let err = UserQuery::try_from(request(0, "x")).expect_err("id 0 must be refused");
        assert!(matches!(err, UserError::IdNotAllowed(0)));
    }

    #[test]
    fn details_are_two_identical_entries() {
        let query = UserQuery::try_from(request(-7, "ünï")).expect("id -7 is allowed");
        let expected = Detail {
            id: -7,
            value: "ünï".to_owned(),
        };
        assert_eq!(query.details(), vec![expected.clone(), expected]);
    }
}
