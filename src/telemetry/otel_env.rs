//! Resolves the export plan from `[telemetry]` and the standard `OTEL_*`
//! variables, which win, as every OpenTelemetry user expects.
use std::{collections::HashMap, time::Duration};

use opentelemetry_sdk::trace::Sampler;

use crate::settings::{OtlpProtocol, TelemetrySettings};

/// A variable or setting that cannot be used, named in the message.
#[derive(Debug, thiserror::Error)]
#[error("invalid {name}: {reason}")]
pub struct TelemetryError {
    name: String,
    reason: String,
}

fn invalid(name: &str, reason: impl Into<String>) -> TelemetryError {
    TelemetryError {
        name: format!("environment variable {name}"),
        reason: reason.into(),
    }
}

/// What telemetry does in this process.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    /// `service.name`.
    pub service_name: String,
    /// Which new traces are sampled.
    pub sampler: Sampler,
    /// Where spans and metrics go; `None` means nowhere (no exporter, no
    /// background work), though trace ids still reach logs and responses.
    pub otlp: Option<OtlpTarget>,
}

/// An OTLP collector.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpTarget {
    /// Base endpoint, e.g. `http://jaeger:4317`.
    pub endpoint: String,
    /// Transport.
    pub protocol: OtlpProtocol,
    /// Bound on one export.
    pub timeout: Duration,
    /// Metrics push interval.
    pub metrics_interval: Duration,
}

/// `Ok(None)` when `OTEL_SDK_DISABLED=true`: no OpenTelemetry at all.
pub(crate) fn resolve(
    settings: &TelemetrySettings,
    env: &HashMap<String, String>,
) -> Result<Option<ExportPlan>, TelemetryError> {
    let var = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    let service_name = var("OTEL_SERVICE_NAME")
        .or_else(|| var("OTEL_RESOURCE_ATTRIBUTES").and_then(service_name_attribute))
        .unwrap_or(&settings.service_name)
        .to_owned();
    let endpoint = var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or(settings.otlp_endpoint.trim());
    let otlp = if endpoint.is_empty() {
        None
    } else {
        Some(OtlpTarget {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            protocol: match var("OTEL_EXPORTER_OTLP_PROTOCOL") {
                None => settings.otlp_protocol,
                Some("grpc") => OtlpProtocol::Grpc,
                Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
                Some(other) => {
                    return Err(invalid(
                        "OTEL_EXPORTER_OTLP_PROTOCOL",
                        format!("{other:?} is not supported; use grpc or http/protobuf"),
                    ));
                }
            },
            timeout: millis(
                var("OTEL_EXPORTER_OTLP_TIMEOUT"),
                "OTEL_EXPORTER_OTLP_TIMEOUT",
            )?
            .unwrap_or(settings.otlp_timeout),
            metrics_interval: millis(
                var("OTEL_METRIC_EXPORT_INTERVAL"),
                "OTEL_METRIC_EXPORT_INTERVAL",
            )?
            .unwrap_or(settings.metrics_interval),
        })
    };
    let sampler = sampler(
        var("OTEL_TRACES_SAMPLER"),
        var("OTEL_TRACES_SAMPLER_ARG"),
        settings.sampling_ratio,
    )?;
    Ok(Some(ExportPlan {
        service_name,
        sampler,
        otlp,
    }))
}

/// `service.name=x` inside `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k=v`).
fn service_name_attribute(attributes: &str) -> Option<&str> {
    attributes
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| key.trim() == "service.name")
        .map(|(_, value)| value.trim())
}

fn millis(value: Option<&str>, name: &str) -> Result<Option<Duration>, TelemetryError> {
    value
        .map(|v| {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| invalid(name, format!("{v:?} is not a number of milliseconds")))
        })
        .transpose()
}

/// The OpenTelemetry sampler names; the default is a parent-based ratio.
fn sampler(name: Option<&str>, arg: Option<&str>, ratio: f64) -> Result<Sampler, TelemetryError> {
    let ratio = match arg {
        None => ratio,
        Some(arg) => match arg.parse::<f64>() {
            Ok(value) if (0.0..=1.0).contains(&value) => value,
            _ => {
                return Err(invalid(
                    "OTEL_TRACES_SAMPLER_ARG",
                    "must be a number from 0 to 1",
                ));
            }
        },
    };
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    Ok(match name.unwrap_or("parentbased_traceidratio") {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio),
        "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio)),
        other => {
            return Err(invalid(
                "OTEL_TRACES_SAMPLER",
                format!("{other:?} is not a known sampler"),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn plan(pairs: &[(&str, &str)]) -> Result<Option<ExportPlan>, TelemetryError> {
        let env = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        resolve(&Settings::default().telemetry, &env)
    }

    #[test]
    fn no_endpoint_means_no_exporter() {
        let plan = plan(&[]).expect("valid").expect("enabled");
        assert!(plan.otlp.is_none());
        assert_eq!(plan.service_name, "user-service");
    }

    #[test]
    fn sdk_disabled_turns_everything_off() {
        let env = [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
        ];
        assert!(plan(&env).expect("valid").is_none());
    }

    #[test]
    fn standard_variables_win_over_settings() {
        let plan = plan(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "users-eu"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ])
        .expect("valid")
        .expect("enabled");
        let otlp = plan.otlp.expect("exporting");
        assert_eq!(otlp.endpoint, "http://collector:4318");
        assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(otlp.timeout, Duration::from_millis(2500));
        assert_eq!(plan.service_name, "users-eu");
    }

    #[test]
    fn service_name_falls_back_to_resource_attributes() {
        let env = [(
            "OTEL_RESOURCE_ATTRIBUTES",
            "k8s.pod.name=p, service.name=from-attrs",
        )];
        let plan = plan(&env).expect("valid").expect("enabled");
        assert_eq!(plan.service_name, "from-attrs");
    }

    #[test]
    fn unknown_protocol_and_sampler_are_rejected_by_name() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ];
        let err = plan(&env).expect_err("unsupported");
        assert!(
            err.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
            "{err}"
        );
        let err = plan(&[("OTEL_TRACES_SAMPLER", "sometimes")]).expect_err("unknown");
        assert!(err.to_string().contains("OTEL_TRACES_SAMPLER"), "{err}");
        let err = plan(&[("OTEL_TRACES_SAMPLER_ARG", "2")]).expect_err("out of range");
        assert!(err.to_string().contains("OTEL_TRACES_SAMPLER_ARG"), "{err}");
    }
}
