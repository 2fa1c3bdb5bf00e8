//! The requests the target sends, with what must be read from the stack
//! before sending them (a real page token, a user's current etag), and how
//! the carver builds each method's request from the input.

use user_service::proto::v1;

use super::input::Carver;

/// A page token to send.
#[derive(Debug)]
pub enum Token {
    /// Exactly this string.
    Literal(String),
    /// One a real List of the default listing returns now.
    Real,
    /// A real one with these `(position, xor)` changes to its decoded bytes.
    Mutated(Vec<(u8, u8)>),
}

/// An etag to send.
#[derive(Debug)]
pub enum Etag {
    /// Exactly this string.
    Literal(String),
    /// The named user's current etag, read with a Get first.
    Current,
}

/// One request, with what must be read from the stack before sending it.
#[derive(Debug)]
pub enum Request {
    Create(v1::CreateUserRequest),
    Get(v1::GetUserRequest),
    List(v1::ListUsersRequest, Token),
    Update(v1::UpdateUserRequest, Etag),
    Delete(v1::DeleteUserRequest, Etag),
    Undelete(v1::UndeleteUserRequest, Etag),
}

impl Carver<'_> {
    /// The request method `method` (0..6: Create, Get, List, Update, Delete,
    /// Undelete) carves from the rest of the input.
    pub fn request(&mut self, method: u8) -> Request {
        match method % 6 {
            0 => Request::Create(v1::CreateUserRequest {
                user: self.user(String::new()),
                user_id: self.user_id(),
                request_id: self.request_id(),
                validate_only: self.flag(),
            }),
            1 => Request::Get(v1::GetUserRequest { name: self.name() }),
            2 => {
                let page_size = self.page_size();
                let token = self.token();
                let request = v1::ListUsersRequest {
                    page_size,
                    page_token: String::new(),
                    filter: self.filter(),
                    order_by: self.order_by(),
                    show_deleted: self.flag(),
                };
                Request::List(request, token)
            }
            3 => {
                let name = self.name();
                let user = self.user(name);
                let etag = self.etag();
                let update_mask = self.mask();
                let allow_missing = self.flag();
                Request::Update(
                    v1::UpdateUserRequest {
                        user,
                        update_mask,
                        allow_missing,
                    },
                    etag,
                )
            }
            4 => {
                let name = self.name();
                let etag = self.etag();
                let allow_missing = self.flag();
                Request::Delete(
                    v1::DeleteUserRequest {
                        name,
                        etag: String::new(),
                        allow_missing,
                    },
                    etag,
                )
            }
            _ => {
                let name = self.name();
                Request::Undelete(
                    v1::UndeleteUserRequest {
                        name,
                        etag: String::new(),
                    },
                    self.etag(),
                )
            }
        }
    }
}
