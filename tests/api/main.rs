//! Integration tests: the real server on port 0, real tonic clients.

mod binary;
mod documented_config;
mod health;
mod helpers;
mod list_user;
mod metrics;
#[path = "../common/process.rs"]
mod process;
mod reflection;
mod shutdown;
