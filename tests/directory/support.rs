//! Requests the tests send and what they read from answers: users, codes,
//! `ErrorInfo` reasons and `BadRequest` fields.
use prost_types::FieldMask;
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;
use user_service::proto::v1::{
    self, CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest,
    UndeleteUserRequest, UpdateUserRequest, user_service_client::UserServiceClient,
};

pub(crate) type Client = UserServiceClient<Channel>;

/// A user as a client sends it.
pub(crate) fn user(email: &str, display_name: &str) -> v1::User {
    v1::User {
        email: email.to_owned(),
        display_name: display_name.to_owned(),
        ..v1::User::default()
    }
}

/// A user with its name, as UpdateUser takes it.
pub(crate) fn named(name: &str, email: &str, display_name: &str) -> v1::User {
    v1::User {
        name: name.to_owned(),
        ..user(email, display_name)
    }
}

/// CreateUser with a client-chosen id (empty: the server picks one).
pub(crate) fn create_request(user_id: &str, email: &str) -> CreateUserRequest {
    CreateUserRequest {
        user: Some(user(email, "")),
        user_id: user_id.to_owned(),
        ..CreateUserRequest::default()
    }
}

/// Creates `users/{user_id}`, which must succeed.
pub(crate) async fn create(client: &mut Client, user_id: &str, email: &str) -> v1::User {
    client
        .create_user(create_request(user_id, email))
        .await
        .unwrap_or_else(|status| panic!("create {user_id}: {status:?}"))
        .into_inner()
}

pub(crate) async fn get(client: &mut Client, name: &str) -> Result<v1::User, Status> {
    let request = GetUserRequest {
        name: name.to_owned(),
    };
    client
        .get_user(request)
        .await
        .map(tonic::Response::into_inner)
}

pub(crate) async fn list(
    client: &mut Client,
    request: ListUsersRequest,
) -> Result<v1::ListUsersResponse, Status> {
    client
        .list_users(request)
        .await
        .map(tonic::Response::into_inner)
}

/// UpdateUser of `user` with `paths` as its mask (`None`: no mask).
pub(crate) async fn update(
    client: &mut Client,
    user: v1::User,
    paths: Option<&[&str]>,
) -> Result<v1::User, Status> {
    let request = UpdateUserRequest {
        user: Some(user),
        update_mask: paths.map(|paths| FieldMask {
            paths: paths.iter().map(|path| (*path).to_owned()).collect(),
        }),
        allow_missing: false,
    };
    client
        .update_user(request)
        .await
        .map(tonic::Response::into_inner)
}

pub(crate) async fn delete(
    client: &mut Client,
    name: &str,
    etag: &str,
) -> Result<v1::User, Status> {
    let request = DeleteUserRequest {
        name: name.to_owned(),
        etag: etag.to_owned(),
        allow_missing: false,
    };
    client
        .delete_user(request)
        .await
        .map(tonic::Response::into_inner)
}

pub(crate) async fn undelete(
    client: &mut Client,
    name: &str,
    etag: &str,
) -> Result<v1::User, Status> {
    let request = UndeleteUserRequest {
        name: name.to_owned(),
        etag: etag.to_owned(),
    };
    client
        .undelete_user(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Names of every listed user, all pages, `page_size` at a time.
pub(crate) async fn list_all(client: &mut Client, mut request: ListUsersRequest) -> Vec<String> {
    let mut names = Vec::new();
    for _ in 0..1000 {
        let page = list(client, request.clone()).await.expect("a page");
        names.extend(page.users.into_iter().map(|user| user.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        request.page_token = page.next_page_token;
    }
    panic!("paging never ended");
}

/// Asserts `status` has `code` and an `ErrorInfo` of this service with
/// `reason`.
#[track_caller]
pub(crate) fn assert_error(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("an ErrorInfo on {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    assert_eq!(info.domain, "user-service", "{status:?}");
}

/// The fields a `BadRequest` names, in order; asserts INVALID_ARGUMENT.
#[track_caller]
pub(crate) fn bad_fields(status: &Status) -> Vec<String> {
    assert_error(status, Code::InvalidArgument, "INVALID_ARGUMENT");
    status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("a BadRequest on {status:?}"))
        .field_violations
        .into_iter()
        .map(|violation| violation.field)
        .collect()
}

/// The description of the violation of `field`.
pub(crate) fn violation(status: &Status, field: &str) -> String {
    status
        .get_details_bad_request()
        .expect("a BadRequest")
        .field_violations
        .into_iter()
        .find(|violation| violation.field == field)
        .map(|violation| violation.description)
        .unwrap_or_else(|| panic!("no violation of {field} in {status:?}"))
}

/// A timestamp as microseconds since the epoch.
pub(crate) fn micros(timestamp: Option<prost_types::Timestamp>) -> i64 {
    let timestamp = timestamp.expect("a timestamp");
    timestamp.seconds * 1_000_000 + i64::from(timestamp.nanos) / 1000
}
