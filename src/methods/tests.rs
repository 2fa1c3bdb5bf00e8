use tonic::Code;

use super::*;

const V1_METHODS: [&str; 6] = [
    "CreateUser",
    "GetUser",
    "ListUsers",
    "UpdateUser",
    "DeleteUser",
    "UndeleteUser",
];

fn entry(path: &str) -> &'static Method {
    let method = RpcPath::parse(path).known();
    assert!(method.is_served(), "{path} is in the table");
    method
}

#[test]
fn every_method_of_every_descriptor_set_is_in_the_table() {
    let mut described = 0;
    for source in SOURCES {
        let set = FileDescriptorSet::decode(source.encoded).expect("decodes");
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    let entry = entry(&path);
                    assert_eq!(format!("/{}", entry.path_name), path);
                    let kind = GrpcType::of(method.client_streaming(), method.server_streaming());
                    assert_eq!(entry.grpc_type, kind, "{path}");
                    described += 1;
                }
            }
        }
    }
    assert_eq!(
        table().len(),
        described + 1,
        "every method once, then unknown"
    );
}

#[test]
fn the_users_apis_health_and_reflection_are_listed_with_their_shapes() {
    for name in V1_METHODS {
        let method = entry(&format!("/user.v1.UserService/{name}"));
        assert_eq!(
            (method.service, method.method, method.grpc_type),
            ("user.v1.UserService", name, GrpcType::Unary)
        );
    }
    assert_eq!(entry("/user.Users/ListUser").grpc_type, GrpcType::Unary);
    assert_eq!(
        entry("/grpc.health.v1.Health/Check").grpc_type,
        GrpcType::Unary
    );
    assert_eq!(
        entry("/grpc.health.v1.Health/Watch").grpc_type,
        GrpcType::ServerStream
    );
    for version in ["v1", "v1alpha"] {
        let path = format!("/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo");
        assert_eq!(entry(&path).grpc_type, GrpcType::BidiStream);
    }
    assert_eq!(table().len(), 6 + 1 + 2 + 2 + 1);
}

#[test]
fn unknown_paths_map_to_the_one_stand_in() {
    let stand_in = unknown();
    assert!(std::ptr::eq(stand_in, &table()[table().len() - 1]));
    assert!(!stand_in.is_served());
    assert_eq!((stand_in.service, stand_in.method), ("unknown", "unknown"));
    for path in [
        "/evil.Service/Random123",
        "/user.Users/DeleteUser",
        "/user.v1.UserService/",
        "/user.v1.UserService",
        "/grpc.health.v1.Health/Bogus",
        "/unknown/unknown",
        "garbage",
        "",
    ] {
        assert!(
            std::ptr::eq(RpcPath::parse(path).known(), stand_in),
            "{path}"
        );
    }
}

#[test]
fn indexes_equal_positions_and_paths_name_service_slash_method() {
    for (position, method) in table().iter().enumerate() {
        assert_eq!(method.index, position);
        assert_eq!(method.is_served(), position + 1 < table().len());
        if method.is_served() {
            assert_eq!(
                method.path_name,
                format!("{}/{}", method.service, method.method)
            );
        }
    }
}

#[test]
fn paths_split_into_service_and_method() {
    let path = RpcPath::parse("/user.v1.UserService/GetUser");
    assert_eq!(
        (path.service, path.method),
        ("user.v1.UserService", "GetUser")
    );
    assert_eq!(RpcPath::parse("user.Users/ListUser").service, "user.Users");
    let bare = RpcPath::parse("/user.Users");
    assert_eq!((bare.service, bare.method), ("user.Users", ""));
}

#[test]
fn health_and_reflection_are_infrastructure() {
    for service in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(RpcPath::parse(&format!("/{service}/Any")).is_infrastructure());
    }
    for service in [
        "user.Users",
        "user.v1.UserService",
        "unknown",
        "evil.Service",
    ] {
        assert!(!RpcPath::parse(&format!("/{service}/Any")).is_infrastructure());
    }
}

#[test]
fn call_shapes_follow_the_streaming_flags() {
    assert_eq!(GrpcType::of(false, false).as_str(), "unary");
    assert_eq!(GrpcType::of(false, true).as_str(), "server_stream");
    assert_eq!(GrpcType::of(true, false).as_str(), "client_stream");
    assert_eq!(GrpcType::of(true, true).as_str(), "bidi_stream");
}

#[test]
fn code_names_follow_grpc_dashboards() {
    for (number, code) in ALL_CODES.iter().enumerate() {
        assert_eq!(*code as usize, number);
    }
    assert_eq!(code_name(Code::Ok), "OK");
    assert_eq!(code_name(Code::NotFound), "NotFound");
    assert_eq!(code_name(Code::Cancelled), "Canceled");
}

#[test]
fn the_status_code_is_read_from_grpc_status() {
    let mut headers = http::HeaderMap::new();
    assert_eq!(status_code(&headers), None);
    headers.insert("grpc-message", "gone".parse().expect("a value"));
    assert_eq!(status_code(&headers), None, "no grpc-status: none");
    headers.insert("grpc-status", "5".parse().expect("a value"));
    assert_eq!(status_code(&headers), Some(Code::NotFound));
    headers.insert("grpc-status", "x".parse().expect("a value"));
    assert_eq!(status_code(&headers), None, "not a number: none");
}
