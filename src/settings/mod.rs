//! Typed settings, layered from built-in defaults, a config file, environment
//! variables and command-line flags, and validated once at start-up.

mod auth;
mod limits;
mod load;
mod secret;
mod size;
mod store;
#[cfg(test)]
mod tests;
mod tls;
mod validate;

use std::{net::SocketAddr, time::Duration};

use serde::{Deserialize, Serialize};

pub use auth::{ASYMMETRIC_ALGORITHMS, AuthMode, AuthSettings, MtlsIdentity};
pub use limits::LimitsSettings;
pub use load::{CONFIG_FILE_VARIABLE, ENV_PREFIX, FlagOverride, SettingsError, load};
pub use secret::{REDACTED, Secret};
pub use store::{DirectorySettings, StoreSettings};
pub use tls::{TlsPem, TlsSettings};
pub use validate::Invalid;

/// Every setting of the service. Field docs are the user-facing reference;
/// `deploy/config/user-service.toml` repeats them with their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where and what the gRPC server serves.
    pub server: ServerSettings,
    /// Bounds on calls and connections.
    pub limits: LimitsSettings,
    /// TLS and mutual TLS.
    pub tls: TlsSettings,
    /// The graceful shutdown sequence.
    pub shutdown: ShutdownSettings,
    /// Log output.
    pub log: LogSettings,
    /// OpenTelemetry traces and metrics.
    pub telemetry: TelemetrySettings,
    /// The admin HTTP server (Prometheus `/metrics`).
    pub admin: AdminSettings,
    /// Where users are kept.
    pub store: StoreSettings,
    /// The directory API (`user.v1.UserService`).
    pub directory: DirectorySettings,
    /// Who may call.
    pub auth: AuthSettings,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address. `0.0.0.0:PORT` also listens on `[::]:PORT` where IPv6 exists.
    pub addr: SocketAddr,
    /// Serve gRPC reflection (v1 and v1alpha).
    pub reflection: bool,
}

/// `[shutdown]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownSettings {
    /// After a signal, how long the server keeps serving while health says
    /// NOT_SERVING, so load balancers and Watch clients move away first.
    #[serde(with = "humantime_serde")]
    pub grace_period: Duration,
    /// Once accepting stops, how long in-flight calls get to finish.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `json`, `text`, or `auto` (text on a terminal, JSON otherwise).
    pub format: LogFormat,
    /// Filter directives such as `info` or `user_service=debug,tower=warn`;
    /// `RUST_LOG`, when set, wins.
    pub level: String,
}

/// `[telemetry]`. The standard `OTEL_*` variables, when set, win over these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// OTLP collector endpoint, e.g. `http://jaeger:4317`; empty means no
    /// export at all. `OTEL_EXPORTER_OTLP_ENDPOINT` and the per-signal
    /// `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT` win.
    pub otlp_endpoint: String,
    /// `grpc` (port 4317) or `http/protobuf` (port 4318).
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` and its per-signal variables win.
    pub otlp_protocol: OtlpProtocol,
    /// Bound on one export call. `OTEL_EXPORTER_OTLP_TIMEOUT` and its
    /// per-signal variables win.
    #[serde(with = "humantime_serde")]
    pub otlp_timeout: Duration,
    /// `service.name` of every span and metric. `OTEL_SERVICE_NAME` wins.
    pub service_name: String,
    /// Share of new traces sampled, 0.0 to 1.0; a caller's sampling decision
    /// is always followed. `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` win.
    pub sampling_ratio: f64,
    /// Also trace health and reflection calls (they are logged at debug level either way).
    pub trace_health_and_reflection: bool,
    /// How often metrics are pushed over OTLP. `OTEL_METRIC_EXPORT_INTERVAL` wins.
    #[serde(with = "humantime_serde")]
    pub metrics_interval: Duration,
}

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OtlpProtocol {
    /// OTLP over gRPC.
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP over HTTP with protobuf bodies.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

impl OtlpProtocol {
    /// The name `OTEL_EXPORTER_OTLP_PROTOCOL` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
        }
    }
}

/// `[admin]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Serve the admin HTTP endpoint.
    pub enabled: bool,
    /// Its listen address; `GET /metrics` answers Prometheus text.
    pub addr: SocketAddr,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Text when stdout is a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings {
                addr: SocketAddr::from(([0, 0, 0, 0], 50051)),
                reflection: true,
            },
            limits: LimitsSettings::default(),
            tls: TlsSettings::default(),
            shutdown: ShutdownSettings {
                grace_period: Duration::from_secs(5),
                drain_timeout: Duration::from_secs(10),
            },
            log: LogSettings {
                format: LogFormat::Auto,
                level: "info".to_owned(),
            },
            telemetry: TelemetrySettings {
                otlp_endpoint: String::new(),
                otlp_protocol: OtlpProtocol::Grpc,
                otlp_timeout: Duration::from_secs(10),
                service_name: "user-service".to_owned(),
                sampling_ratio: 1.0,
                trace_health_and_reflection: false,
                metrics_interval: Duration::from_secs(60),
            },
            admin: AdminSettings {
                enabled: true,
                addr: SocketAddr::from(([0, 0, 0, 0], 9464)),
            },
            store: StoreSettings::default(),
            directory: DirectorySettings::default(),
            auth: AuthSettings::default(),
        }
    }
}

impl Settings {
    /// The effective settings as TOML, for `user-service config`. Secrets
    /// print as `[redacted]` (see [`Secret`]).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}
