//! Reflection v1 and v1alpha list and describe every served service.
use futures::{StreamExt, stream};
use prost::Message;
use prost_types::FileDescriptorProto;
use tonic_reflection::pb::{v1, v1alpha};
use user_service::server::Application;

use crate::helpers::{bounded, spawn_app, test_settings};

const EXPECTED_SERVICES: [&str; 5] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "user.Users",
    "user.v1.UserService",
];

async fn ask_v1(
    channel: tonic::transport::Channel,
    request: v1::server_reflection_request::MessageRequest,
) -> Result<v1::server_reflection_response::MessageResponse, tonic::Status> {
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = bounded(client.server_reflection_info(stream::iter([request])))
        .await?
        .into_inner();
    let response = bounded(responses.next())
        .await
        .expect("one response")
        .expect("a successful response");
    Ok(response.message_response.expect("a message response"))
}

#[tokio::test]
async fn reflection_v1_lists_every_service() {
    let app = spawn_app().await;
    let response = ask_v1(
        app.channel.clone(),
        v1::server_reflection_request::MessageRequest::ListServices(String::new()),
    )
    .await
    .expect("reflection answers");
    let v1::server_reflection_response::MessageResponse::ListServicesResponse(list) = response
    else {
        panic!("expected a service list, got {response:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, EXPECTED_SERVICES);
}

#[tokio::test]
async fn reflection_v1alpha_lists_every_service() {
    let app = spawn_app().await;
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut responses = bounded(client.server_reflection_info(stream::iter([request])))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = bounded(responses.next())
        .await
        .expect("one response")
        .expect("ok");
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("expected a service list");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, EXPECTED_SERVICES);
}

#[tokio::test]
async fn file_containing_symbol_describes_the_users_service() {
    let app = spawn_app().await;
    let response = ask_v1(
        app.channel.clone(),
        v1::server_reflection_request::MessageRequest::FileContainingSymbol("user.Users".into()),
    )
    .await
    .expect("reflection answers");
    let v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files) = response
    else {
        panic!("expected file descriptors, got {response:?}");
    };
    let file = FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
        .expect("a valid file descriptor");
    assert_eq!(file.package(), "user");
    let service = &file.service[0];
    assert_eq!(service.name(), "Users");
    assert_eq!(service.method[0].name(), "ListUser");
    assert_eq!(service.method[0].input_type(), ".user.UserRequest");
    assert_eq!(service.method[0].output_type(), ".user.UserResponse");
}

#[tokio::test]
async fn the_directory_is_described_with_the_well_known_types_it_imports() {
    let app = spawn_app().await;
    let response = ask_v1(
        app.channel.clone(),
        v1::server_reflection_request::MessageRequest::FileContainingSymbol(
            "user.v1.UserService".into(),
        ),
    )
    .await
    .expect("reflection answers");
    let v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files) = response
    else {
        panic!("expected file descriptors, got {response:?}");
    };
    let files: Vec<FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).expect("a valid descriptor"))
        .collect();
    let directory_file = files
        .iter()
        .find(|file| file.name() == "user/v1/user_service.proto")
        .expect("the user.v1 file");
    // Clients resolve the imports by file name: each must be served.
    for needed in [
        "google/protobuf/field_mask.proto",
        "google/protobuf/timestamp.proto",
    ] {
        assert!(
            directory_file.dependency.iter().any(|d| d == needed),
            "{needed} not imported"
        );
        let response = ask_v1(
            app.channel.clone(),
            v1::server_reflection_request::MessageRequest::FileByFilename(needed.into()),
        )
        .await
        .expect("reflection answers");
        let v1::server_reflection_response::MessageResponse::FileDescriptorResponse(found) =
            response
        else {
            panic!("{needed} is not served: {response:?}");
        };
        let file = FileDescriptorProto::decode(found.file_descriptor_proto[0].as_slice())
            .expect("a valid descriptor");
        assert_eq!(file.name(), needed);
    }
    let directory = files
        .iter()
        .find(|file| file.package() == "user.v1")
        .expect("the user.v1 file");
    let methods: Vec<&str> = directory.service[0]
        .method
        .iter()
        .map(|m| m.name())
        .collect();
    assert_eq!(
        methods,
        [
            "CreateUser",
            "GetUser",
            "ListUsers",
            "UpdateUser",
            "DeleteUser",
            "UndeleteUser"
        ]
    );
}

#[tokio::test]
async fn reflection_can_be_switched_off() {
    let mut settings = test_settings();
    settings.server.reflection = false;
    let store_dir = tempfile::tempdir().expect("a temporary directory");
    settings.store.url = format!("sqlite://{}/users.db", store_dir.path().display());
    let app = Application::build(settings).await.expect("binds");
    let addr = app.local_addr();
    let server = tokio::spawn(app.run_until(futures::future::pending()));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let status = ask_v1(
        channel,
        v1::server_reflection_request::MessageRequest::ListServices(String::new()),
    )
    .await
    .expect_err("reflection is off");
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    server.abort();
}

/// The file reflection serves under `name`, decoded.
async fn served_file(channel: tonic::transport::Channel, name: &str) -> FileDescriptorProto {
    let response = ask_v1(
        channel,
        v1::server_reflection_request::MessageRequest::FileByFilename(name.into()),
    )
    .await
    .expect("reflection answers");
    let v1::server_reflection_response::MessageResponse::FileDescriptorResponse(found) = response
    else {
        panic!("{name} is not served: {response:?}");
    };
    FileDescriptorProto::decode(found.file_descriptor_proto[0].as_slice())
        .expect("a valid descriptor")
}

#[tokio::test]
async fn the_error_details_errors_carry_are_described_with_their_imports() {
    let app = spawn_app().await;
    // Named as tonic-types compiles them; clients find them by symbol.
    for (symbol, file_name, message) in [
        ("google.rpc.ErrorInfo", "error_details.proto", "ErrorInfo"),
        ("google.rpc.BadRequest", "error_details.proto", "BadRequest"),
        (
            "google.rpc.RequestInfo",
            "error_details.proto",
            "RequestInfo",
        ),
        ("google.rpc.Status", "status.proto", "Status"),
    ] {
        let response = ask_v1(
            app.channel.clone(),
            v1::server_reflection_request::MessageRequest::FileContainingSymbol(symbol.into()),
        )
        .await
        .expect("reflection answers");
        let v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files) =
            response
        else {
            panic!("{symbol} is not described: {response:?}");
        };
        let file = files
            .file_descriptor_proto
            .iter()
            .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).expect("a descriptor"))
            .find(|file| file.name() == file_name)
            .unwrap_or_else(|| panic!("{symbol}: {file_name} is not among the files"));
        assert!(
            file.message_type.iter().any(|m| m.name() == message),
            "{file_name} defines {message}"
        );
        // A client resolving the type URL of an Any also needs every import.
        for needed in &file.dependency {
            assert_eq!(
                served_file(app.channel.clone(), needed).await.name(),
                needed
            );
        }
    }
}
