//! A `user.v1` request as it was sent, with what the contract and the edge's
//! validation (`directory::requests`) say of it before any answer: the codes
//! its method may answer and the violations a refused request lists.

use prost::Message;
use tonic::Code;
use user_service::{
    directory::{
        DirectoryError,
        requests::{self, CreateUser, ListUsers, UpdateUser},
    },
    proto::v1,
};

/// The methods, in the order byte 0 picks them.
pub const PATHS: [&str; 6] = [
    "/user.v1.UserService/CreateUser",
    "/user.v1.UserService/GetUser",
    "/user.v1.UserService/ListUsers",
    "/user.v1.UserService/UpdateUser",
    "/user.v1.UserService/DeleteUser",
    "/user.v1.UserService/UndeleteUser",
];

/// Where a List's page token came from.
#[derive(Debug, PartialEq)]
pub enum TokenSent {
    /// Carved or decoded from the input.
    Literal,
    /// From a real List of the default listing just before.
    Real,
    /// A real one, changed.
    Mutated,
}

/// A request as it was sent.
#[derive(Debug)]
pub enum Sent {
    Create(v1::CreateUserRequest),
    Get(v1::GetUserRequest),
    List(v1::ListUsersRequest, TokenSent),
    Update(v1::UpdateUserRequest),
    Delete(v1::DeleteUserRequest),
    Undelete(v1::UndeleteUserRequest),
}

/// A refused request's violations, as `(field, description)`.
pub type Violations = Vec<(String, String)>;

fn verdict<T>(result: Result<T, DirectoryError>) -> Result<(), Violations> {
    match result {
        Ok(_) => Ok(()),
        Err(DirectoryError::InvalidArgument(violations)) => Err(violations
            .into_iter()
            .map(|v| (v.field.to_owned(), v.description))
            .collect()),
        Err(other) => panic!("validation failed with something else: {other}"),
    }
}

impl Sent {
    /// `bytes` as the request of method `method`, when prost decodes them.
    pub fn decode(method: u8, bytes: &[u8]) -> Option<Self> {
        Some(match method % 6 {
            0 => Self::Create(Message::decode(bytes).ok()?),
            1 => Self::Get(Message::decode(bytes).ok()?),
            2 => Self::List(Message::decode(bytes).ok()?, TokenSent::Literal),
            3 => Self::Update(Message::decode(bytes).ok()?),
            4 => Self::Delete(Message::decode(bytes).ok()?),
            _ => Self::Undelete(Message::decode(bytes).ok()?),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Create(request) => request.encode_to_vec(),
            Self::Get(request) => request.encode_to_vec(),
            Self::List(request, _) => request.encode_to_vec(),
            Self::Update(request) => request.encode_to_vec(),
            Self::Delete(request) => request.encode_to_vec(),
            Self::Undelete(request) => request.encode_to_vec(),
        }
    }

    pub fn path(&self) -> &'static str {
        PATHS[match self {
            Self::Create(_) => 0,
            Self::Get(_) => 1,
            Self::List(..) => 2,
            Self::Update(_) => 3,
            Self::Delete(_) => 4,
            Self::Undelete(_) => 5,
        }]
    }

    /// The codes the contract allows this method (one caller at a time, so
    /// no STORE_CONFLICT; a reachable store, so no UNAVAILABLE).
    pub fn allowed(&self) -> &'static [Code] {
        use Code::*;
        match self {
            Self::Create(_) => &[Ok, InvalidArgument, AlreadyExists],
            Self::Get(_) => &[Ok, InvalidArgument, NotFound],
            Self::List(..) => &[Ok, InvalidArgument],
            Self::Update(_) => &[
                Ok,
                InvalidArgument,
                NotFound,
                Aborted,
                FailedPrecondition,
                AlreadyExists,
            ],
            Self::Delete(_) => &[Ok, InvalidArgument, NotFound, Aborted, FailedPrecondition],
            Self::Undelete(_) => &[Ok, InvalidArgument, NotFound, Aborted, AlreadyExists],
        }
    }

    /// What the edge's validation says of the request.
    pub fn edge(&self) -> Result<(), Violations> {
        match self {
            Self::Create(request) => verdict(CreateUser::try_from(request.clone())),
            Self::Get(request) => verdict(requests::named("name", &request.name)),
            Self::List(request, _) => verdict(ListUsers::try_from(request.clone())),
            Self::Update(request) => verdict(UpdateUser::try_from(request.clone())),
            Self::Delete(request) => verdict(requests::named("name", &request.name)),
            Self::Undelete(request) => verdict(requests::named("name", &request.name)),
        }
    }
}
