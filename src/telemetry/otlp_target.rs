//! One signal's OTLP collector: endpoint, transport, headers, timeout,
//! compression and TLS, from the per-signal variable, else the generic one,
//! else `[telemetry]`.
use std::time::Duration;

use super::{
    otel_env::{TelemetryError, Vars, invalid, millis},
    otlp_secrets::{certificates, client_identity, headers},
};
use crate::settings::{OtlpProtocol, Secret, TelemetrySettings};

/// A signal this service exports over OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metrics.
    Metrics,
}

impl Signal {
    fn upper(self) -> &'static str {
        match self {
            Self::Traces => "TRACES",
            Self::Metrics => "METRICS",
        }
    }

    /// The path OTLP/HTTP adds to the generic endpoint.
    fn http_path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
        }
    }
}

/// One signal's collector, everything read and checked at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpTarget {
    /// The URL the exporter is given; for OTLP/HTTP the signal's path is in it.
    pub endpoint: String,
    /// Transport.
    pub protocol: OtlpProtocol,
    /// Bound on one export.
    pub timeout: Duration,
    /// Headers sent with every export, names in lower case (API keys: the
    /// values are secrets).
    pub headers: Vec<(String, Secret)>,
    /// Whether exports are gzip-compressed.
    pub gzip: bool,
    /// PEM of the CA that signs the collector's certificate; system roots
    /// when `None`.
    pub ca_pem: Option<String>,
    /// The certificate and key shown to a collector that asks (mTLS).
    pub client_identity: Option<ClientIdentity>,
}

/// A client certificate chain and its private key, both PEM.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientIdentity {
    /// The certificate chain.
    pub cert_pem: String,
    /// The private key.
    pub key_pem: Secret,
}

impl OtlpTarget {
    /// Also bounded by `bound`, when there is one.
    pub(super) fn bounded_by(mut self, bound: Option<Duration>) -> Self {
        if let Some(bound) = bound {
            self.timeout = self.timeout.min(bound);
        }
        self
    }

    /// `scheme://host:port`, the collector whatever the signal's path.
    pub fn collector(&self) -> &str {
        let after_scheme = self.endpoint.find("://").map_or(0, |at| at + 3);
        match self.endpoint[after_scheme..].find('/') {
            Some(path) => &self.endpoint[..after_scheme + path],
            None => &self.endpoint,
        }
    }
}

/// The per-signal variable `OTEL_EXPORTER_OTLP_{SIGNAL}_{key}` if set, else
/// the generic `OTEL_EXPORTER_OTLP_{key}`: its name and value.
pub(super) fn pick<'a>(vars: Vars<'a>, signal: Signal, key: &str) -> Option<(String, &'a str)> {
    let specific = format!("OTEL_EXPORTER_OTLP_{}_{key}", signal.upper());
    if let Some(value) = vars.get(&specific) {
        return Some((specific, value));
    }
    let generic = format!("OTEL_EXPORTER_OTLP_{key}");
    vars.get(&generic).map(|value| (generic, value))
}

/// `signal`'s collector; `None` when it has no endpoint or its exporter is `none`.
pub(super) fn resolve(
    vars: Vars<'_>,
    settings: &TelemetrySettings,
    signal: Signal,
) -> Result<Option<OtlpTarget>, TelemetryError> {
    let exporter = match signal {
        Signal::Traces => "OTEL_TRACES_EXPORTER",
        Signal::Metrics => "OTEL_METRICS_EXPORTER",
    };
    match vars.get(exporter) {
        None | Some("otlp") => {}
        Some("none") => return Ok(None),
        Some(other) => {
            return Err(invalid(
                exporter,
                format!("{other:?} is not supported; use otlp or none"),
            ));
        }
    }
    let protocol = match pick(vars, signal, "PROTOCOL") {
        None => settings.otlp_protocol,
        Some((_, "grpc")) => OtlpProtocol::Grpc,
        Some((_, "http/protobuf")) => OtlpProtocol::HttpProtobuf,
        Some((name, other)) => {
            return Err(invalid(
                &name,
                format!("{other:?} is not supported; use grpc or http/protobuf"),
            ));
        }
    };
    let insecure = match pick(vars, signal, "INSECURE") {
        None => false,
        Some((_, value)) if value.eq_ignore_ascii_case("true") => true,
        Some((_, value)) if value.eq_ignore_ascii_case("false") => false,
        Some((name, other)) => {
            return Err(invalid(
                &name,
                format!("{other:?} is neither true nor false"),
            ));
        }
    };
    let specific = format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.upper());
    let endpoint = match vars.get(&specific) {
        // A per-signal endpoint is used as given, path and all.
        Some(value) => {
            url(value, protocol, insecure).map_err(|reason| invalid(&specific, reason))?
        }
        None => {
            let (value, name) = match vars.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
                Some(value) => (value, "OTEL_EXPORTER_OTLP_ENDPOINT"),
                None => (settings.otlp_endpoint.trim(), "telemetry.otlp_endpoint"),
            };
            if value.is_empty() {
                return Ok(None);
            }
            let url = url(value, protocol, insecure).map_err(|reason| invalid(name, reason))?;
            let url = url.trim_end_matches('/').to_owned();
            match protocol {
                OtlpProtocol::Grpc => url,
                OtlpProtocol::HttpProtobuf => url + signal.http_path(),
            }
        }
    };
    Ok(Some(OtlpTarget {
        endpoint,
        protocol,
        timeout: match pick(vars, signal, "TIMEOUT") {
            Some((name, _)) => millis(vars, &name)?.unwrap_or(settings.otlp_timeout),
            None => settings.otlp_timeout,
        },
        headers: match pick(vars, signal, "HEADERS") {
            Some((name, value)) => headers(&name, value)?,
            None => Vec::new(),
        },
        gzip: match pick(vars, signal, "COMPRESSION") {
            None | Some((_, "none")) => false,
            Some((_, "gzip")) => true,
            Some((name, other)) => {
                return Err(invalid(
                    &name,
                    format!("{other:?} is not supported; use gzip or none"),
                ));
            }
        },
        ca_pem: match pick(vars, signal, "CERTIFICATE") {
            Some((name, path)) => Some(certificates(&name, path)?),
            None => None,
        },
        client_identity: client_identity(vars, signal)?,
    }))
}

/// An absolute `http`/`https` URL; a gRPC endpoint without a scheme gets
/// one from `OTEL_EXPORTER_OTLP_INSECURE`, as the specification says.
fn url(value: &str, protocol: OtlpProtocol, insecure: bool) -> Result<String, String> {
    let url = match (value.contains("://"), protocol) {
        (true, _) => value.to_owned(),
        (false, OtlpProtocol::Grpc) if insecure => format!("http://{value}"),
        (false, OtlpProtocol::Grpc) => format!("https://{value}"),
        (false, OtlpProtocol::HttpProtobuf) => {
            return Err(format!("{value:?} must start with http:// or https://"));
        }
    };
    match url.parse::<http::Uri>() {
        Ok(uri)
            if matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some() =>
        {
            Ok(url)
        }
        _ => Err(format!("{value:?} is not an http:// or https:// URL")),
    }
}
