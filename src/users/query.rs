//! A validated ListUser request and the answer it gets.
use crate::proto::{Detail, UserRequest};

use super::UserError;

/// The one id that is refused: the original service answers NOT_FOUND for it.
const FORBIDDEN_ID: i32 = 0;

/// A ListUser request whose name fits the limit and whose id is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    id: i32,
    name: String,
}

impl UserQuery {
    /// The request as a query, when its name fits `max_name_length` bytes
    /// (checked first, as the service always has) and its id is allowed.
    pub fn parse(request: UserRequest, max_name_length: usize) -> Result<Self, UserError> {
        let length = request.name.len();
        if length > max_name_length {
            return Err(UserError::NameTooLong {
                length,
                max: max_name_length,
            });
        }
        if request.id == FORBIDDEN_ID {
            return Err(UserError::IdNotAllowed(request.id));
        }
        Ok(Self {
            id: request.id,
            name: request.name,
        })
    }

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
        let err = UserQuery::parse(request(0, "x"), 8).expect_err("id 0 must be refused");
        assert!(matches!(err, UserError::IdNotAllowed(0)));
    }

    #[test]
    fn names_up_to_the_limit_pass_and_longer_ones_are_invalid() {
        assert!(UserQuery::parse(request(1, "abcd"), 4).is_ok());
        let err = UserQuery::parse(request(1, "abcde"), 4).expect_err("too long");
        assert!(matches!(err, UserError::NameTooLong { length: 5, max: 4 }));
        // Two characters, six bytes.
        assert!(UserQuery::parse(request(1, "名前"), 4).is_err());
        // The name is checked before the id, as it always was.
        let err = UserQuery::parse(request(0, "abcde"), 4).expect_err("both bad");
        assert!(matches!(err, UserError::NameTooLong { .. }));
    }

    #[test]
    fn details_are_two_identical_entries() {
        let query = UserQuery::parse(request(-7, "ünï"), 8).expect("id -7 is allowed");
        let expected = Detail {
            id: -7,
            value: "ünï".to_owned(),
        };
        assert_eq!(query.details(), vec![expected.clone(), expected]);
    }
}
