//! user-service: a user directory (`user.v1.UserService`) and the legacy
//! `user.Users` API, with health, reflection, layered settings, telemetry
//! and graceful shutdown.

pub mod auth;
pub mod cli;
pub mod directory;
pub mod errors;
mod headers;
pub mod healthcheck;
pub mod layers;
pub mod methods;
pub mod proto;
mod scoped;
pub mod server;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod users;
