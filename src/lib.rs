//! user-service: the `user.Users` gRPC API with health, reflection, layered
//! settings and graceful shutdown.

pub mod cli;
pub mod errors;
pub mod healthcheck;
pub mod layers;
pub mod proto;
pub mod server;
pub mod settings;
pub mod telemetry;
pub mod users;
