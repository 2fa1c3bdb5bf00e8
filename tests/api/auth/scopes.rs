//! The method → scope table through real calls: a read-only token reads
//! and is refused writes before any store lookup, a read-write token does
//! both, health is always open, reflection open unless protected, and
//! paths nobody serves need a caller before they answer UNIMPLEMENTED.
use serde_json::json;
use tonic::Code;
use user_service::proto::v1::{
    CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest, User,
    user_service_client::UserServiceClient,
};

use super::support::{
    AuthApp, assert_denied, authorized, claims, list_user_with, spawn_auth_app,
    spawn_auth_app_with, with,
};
use crate::helpers::{bounded, call_raw};

fn create_request() -> CreateUserRequest {
    CreateUserRequest {
        user: Some(User {
            email: "ada@example.com".to_owned(),
            ..User::default()
        }),
        user_id: "ada".to_owned(),
        ..CreateUserRequest::default()
    }
}

fn client(app: &AuthApp) -> UserServiceClient<tonic::transport::Channel> {
    UserServiceClient::new(app.app.channel.clone())
}

#[tokio::test]
async fn a_read_only_token_reads_and_is_refused_writes_before_any_lookup() {
    let app = spawn_auth_app().await;
    let token = app.issuer.ec.sign(&claims("users.read"));
    list_user_with(&app.app, &token).await.expect("ListUser");
    let mut client = client(&app);
    bounded(client.list_users(authorized(ListUsersRequest::default(), &token)))
        .await
        .expect("ListUsers");
    let get = GetUserRequest {
        name: "users/nobody".to_owned(),
    };
    let missing = bounded(client.get_user(authorized(get, &token))).await;
    assert_denied(missing, Code::NotFound, "USER_NOT_FOUND");
    let create = bounded(client.create_user(authorized(create_request(), &token))).await;
    let status = assert_denied(create, Code::PermissionDenied, "INSUFFICIENT_SCOPE");
    let info = tonic_types::StatusExt::get_details_error_info(&status).expect("ErrorInfo");
    assert_eq!(info.metadata["scope"], "users.write");
    // Whether the user exists is not revealed to a caller without the scope.
    let delete = DeleteUserRequest {
        name: "users/nobody".to_owned(),
        ..DeleteUserRequest::default()
    };
    let refused = bounded(client.delete_user(authorized(delete, &token))).await;
    assert_denied(refused, Code::PermissionDenied, "INSUFFICIENT_SCOPE");
}

#[tokio::test]
async fn a_read_write_token_writes_and_scp_lists_count_too() {
    let app = spawn_auth_app().await;
    let scp = with(claims(""), "scp", json!(["users.read", "users.write"]));
    let token = app.issuer.ed.sign(&scp);
    let mut client = client(&app);
    let created = bounded(client.create_user(authorized(create_request(), &token)))
        .await
        .expect("created")
        .into_inner();
    let get = GetUserRequest { name: created.name };
    bounded(client.get_user(authorized(get, &token)))
        .await
        .expect("read back");
}

#[tokio::test]
async fn health_and_reflection_are_open_and_unknown_paths_need_a_caller() {
    let app = spawn_auth_app().await;
    assert!(app.app.check("").await.is_ok());
    assert!(app.app.check("user.v1.UserService").await.is_ok());
    let status = call_raw(
        &app.app,
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    )
    .await;
    assert_ne!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = call_raw(&app.app, "/evil.Service/Method").await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

#[tokio::test]
async fn protected_reflection_needs_a_token() {
    let app = spawn_auth_app_with(|settings| settings.auth.protect_reflection = true).await;
    let status = call_raw(
        &app.app,
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    )
    .await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(app.app.check("").await.is_ok(), "health stays open");
}
