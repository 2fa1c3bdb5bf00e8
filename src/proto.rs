//! Generated types of the wire contracts: the legacy `proto/user.proto`
//! (package `user`) and the directory `proto/user/v1/user_service.proto`
//! (package `user.v1`).
#![allow(missing_docs, unreachable_pub, clippy::all)]

tonic::include_proto!("user");

/// `user.v1`: the user directory.
pub mod v1 {
    tonic::include_proto!("user.v1");
}

/// The encoded descriptor set of both contracts and the google.protobuf files
/// they import, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("user_descriptor");
