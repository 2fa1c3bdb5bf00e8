//! Generated types of the wire contract (`proto/user.proto`, package `user`).
#![allow(missing_docs, unreachable_pub, clippy::all)]

tonic::include_proto!("user");

/// The encoded descriptor set of `proto/user.proto`, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("user_descriptor");
