//! Integration tests: the real server on port 0, real tonic clients.

mod auth;
mod bad_input;
mod binary;
mod connections;
mod deadlines;
mod documented_config;
mod error_details;
mod frames;
mod health;
mod helpers;
mod list_user;
mod message_size;
mod metrics;
mod overload;
mod pki;
#[path = "../common/process.rs"]
mod process;
mod raw;
mod reflection;
mod shutdown;
mod startup_line;
mod table;
mod tls;
