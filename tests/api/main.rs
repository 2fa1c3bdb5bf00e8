//! Integration tests: the real server on port 0, real tonic clients.

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
mod overload;
mod pki;
mod raw;
mod reflection;
mod shutdown;
mod table;
mod tls;
