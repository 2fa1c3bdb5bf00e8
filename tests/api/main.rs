//! Integration tests: the real server on port 0, real tonic clients.

mod binary;
mod documented_config;
mod health;
mod helpers;
mod list_user;
mod reflection;
mod shutdown;
