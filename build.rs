//! Compiles the wire contracts and writes the descriptor set that reflection
//! serves (and that the method table is derived from).
use std::{env, path::PathBuf};

/// Every API the server serves, relative to `proto/`.
const PROTOS: [&str; 2] = ["proto/user.proto", "proto/user/v1/user_service.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    // A vendored protoc means a fresh machine needs no system protobuf compiler.
    let mut prost_config = tonic_prost_build::Config::new();
    prost_config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    // The descriptor set includes the imported google.protobuf files, so
    // reflection clients can resolve Timestamp and FieldMask.
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("user_descriptor.bin"))
        .compile_with_config(prost_config, &PROTOS, &["proto"])?;
    Ok(())
}
