//! The command line: `serve` (the default), `config`, `migrate` and
//! `healthcheck`.
use std::{collections::HashMap, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::{
    healthcheck::TlsArgs,
    settings::{self, FlagOverride, Settings, SettingsError},
};

/// A gRPC User microservice: the `user.Users` API with health, reflection and
/// graceful shutdown.
#[derive(Debug, Parser)]
#[command(name = "user-service", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings flags for the default `serve`.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve gRPC until SIGTERM or SIGINT (the default).
    Serve(SettingsArgs),
    /// Print the effective settings as TOML (secrets redacted) and exit.
    Config(SettingsArgs),
    /// Apply the store's schema migrations and exit (for a Kubernetes Job or
    /// init container; `store.migrate` does it at start-up by default).
    Migrate(SettingsArgs),
    /// Check a server's health like grpc_health_probe: exit 0 serving, 1 bad
    /// arguments, 2 connection failure, 3 RPC failure, 4 not serving.
    Healthcheck(HealthcheckArgs),
}

/// Where settings come from, beyond defaults and `USER_SERVICE__*` variables.
#[derive(Debug, Clone, Default, Args)]
pub struct SettingsArgs {
    /// Config file (TOML, YAML or JSON); default: $USER_SERVICE_CONFIG.
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Listen address, overriding `server.addr`.
    #[arg(long, value_name = "ADDR")]
    pub addr: Option<String>,
    /// Log format (auto, json, text), overriding `log.format`.
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log filter (e.g. `debug`), overriding `log.level`; RUST_LOG still wins.
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
}

impl SettingsArgs {
    /// Loads the layered settings with these flags on top.
    pub fn load(&self) -> Result<Settings, SettingsError> {
        let flags: Vec<FlagOverride> = [
            ("server.addr", "--addr", &self.addr),
            ("log.format", "--log-format", &self.log_format),
            ("log.level", "--log-level", &self.log_level),
        ]
        .into_iter()
        .filter_map(|(key, flag, value)| {
            value.clone().map(|value| FlagOverride { key, flag, value })
        })
        .collect();
        let env: HashMap<String, String> = std::env::vars().collect();
        settings::load(self.config.as_deref(), &env, &flags)
    }
}

/// Arguments of `healthcheck`, named as grpc_health_probe names them.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// Server address (`host:port`); default: this host and the port of the
    /// configured `server.addr`.
    #[arg(long, value_name = "ADDR")]
    pub addr: Option<String>,
    /// Service name to check; empty means the whole server.
    #[arg(long, default_value = "")]
    pub service: String,
    /// Bound on connecting and on the call, e.g. `1s` or `500ms`.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Config file, read only to find the default address.
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// TLS options.
    #[command(flatten)]
    pub tls: TlsArgs,
}
