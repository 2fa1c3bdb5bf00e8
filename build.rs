//! Compiles the wire contract and writes the descriptor set that reflection serves.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    // A vendored protoc means a fresh machine needs no system protobuf compiler.
    let mut prost_config = tonic_prost_build::Config::new();
    prost_config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("user_descriptor.bin"))
        .compile_with_config(prost_config, &["proto/user.proto"], &["proto"])?;
    Ok(())
}
