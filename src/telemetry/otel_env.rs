//! Resolves the export plan from `[telemetry]` and the standard `OTEL_*`
//! variables, which win, as every OpenTelemetry user expects.
//!
//! The variables are read here, once, from the map `main` took from the
//! process environment, rather than left to opentelemetry-otlp: there a
//! value set in code (a `[telemetry]` setting) beats the variable, an
//! invalid value is skipped with a log line, and certificate files are not
//! read; and the SDK's thread-based batch span processor and periodic reader
//! ignore `OTEL_BSP_EXPORT_TIMEOUT` and `OTEL_METRIC_EXPORT_TIMEOUT`. Here
//! an invalid value stops start-up.
use std::{collections::HashMap, time::Duration};

use opentelemetry_sdk::trace::{BatchConfig, BatchConfigBuilder, Sampler};

use super::otlp_target::{self, OtlpTarget, Signal};
use crate::settings::TelemetrySettings;

/// A variable or setting that cannot be used, named in the message.
#[derive(Debug, thiserror::Error)]
#[error("invalid {name}: {reason}")]
pub struct TelemetryError {
    name: String,
    reason: String,
}

/// `name` is a variable (`OTEL_…`) or a setting (`telemetry.…`).
pub(super) fn invalid(name: &str, reason: impl Into<String>) -> TelemetryError {
    let kind = match name.starts_with("OTEL_") {
        true => "environment variable",
        false => "setting",
    };
    TelemetryError {
        name: format!("{kind} {name}"),
        reason: reason.into(),
    }
}

/// The process's variables, blank ones counting as unset (as the
/// specification asks).
#[derive(Clone, Copy)]
pub(super) struct Vars<'a>(&'a HashMap<String, String>);

impl<'a> Vars<'a> {
    pub(super) fn get(self, name: &str) -> Option<&'a str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// What telemetry does in this process.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    /// `service.name`.
    pub service_name: String,
    /// Which new traces are sampled.
    pub sampler: Sampler,
    /// Where spans go; `None` means nowhere (no exporter, no background
    /// work), though trace ids still reach logs and responses.
    pub traces: Option<OtlpTarget>,
    /// Where metrics go; `None` means they are not pushed.
    pub metrics: Option<OtlpTarget>,
    /// The batch span processor's queue, batch and delay.
    pub batch: SpanBatch,
    /// Metrics push interval.
    pub metrics_interval: Duration,
}

/// `Ok(None)` when `OTEL_SDK_DISABLED=true`: no OpenTelemetry at all.
pub(crate) fn resolve(
    settings: &TelemetrySettings,
    env: &HashMap<String, String>,
) -> Result<Option<ExportPlan>, TelemetryError> {
    let vars = Vars(env);
    if vars
        .get("OTEL_SDK_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(None);
    }
    let service_name = vars
        .get("OTEL_SERVICE_NAME")
        .or_else(|| {
            vars.get("OTEL_RESOURCE_ATTRIBUTES")
                .and_then(service_name_attribute)
        })
        .unwrap_or(&settings.service_name)
        .to_owned();
    // Neither processor bounds an export itself: the exporter's own
    // timeout does, so it is the smaller of the two.
    let span_export_timeout = millis(vars, "OTEL_BSP_EXPORT_TIMEOUT")?;
    let metric_export_timeout = millis(vars, "OTEL_METRIC_EXPORT_TIMEOUT")?;
    let traces = otlp_target::resolve(vars, settings, Signal::Traces)?
        .map(|target| target.bounded_by(span_export_timeout));
    let metrics = otlp_target::resolve(vars, settings, Signal::Metrics)?
        .map(|target| target.bounded_by(metric_export_timeout));
    let sampler = sampler(
        vars.get("OTEL_TRACES_SAMPLER"),
        vars.get("OTEL_TRACES_SAMPLER_ARG"),
        settings.sampling_ratio,
    )?;
    Ok(Some(ExportPlan {
        service_name,
        sampler,
        traces,
        metrics,
        batch: batch_config(vars)?,
        metrics_interval: millis(vars, "OTEL_METRIC_EXPORT_INTERVAL")?
            .unwrap_or(settings.metrics_interval),
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

/// A positive whole number of milliseconds in variable `name`.
pub(super) fn millis(vars: Vars<'_>, name: &str) -> Result<Option<Duration>, TelemetryError> {
    count(vars, name).map(|ms| ms.map(|ms| Duration::from_millis(ms as u64)))
}

/// A positive whole number in variable `name`.
fn count(vars: Vars<'_>, name: &str) -> Result<Option<usize>, TelemetryError> {
    vars.get(name)
        .map(|v| match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(invalid(
                name,
                format!("{v:?} is not a whole number greater than 0"),
            )),
        })
        .transpose()
}

/// The batch span processor's tuning from `OTEL_BSP_*`; unset means the
/// SDK's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanBatch {
    /// `OTEL_BSP_SCHEDULE_DELAY`.
    pub delay: Option<Duration>,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`.
    pub max_queue: Option<usize>,
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`.
    pub max_batch: Option<usize>,
}

impl SpanBatch {
    /// The processor's configuration.
    pub fn config(&self) -> BatchConfig {
        let mut builder = BatchConfigBuilder::default();
        if let Some(delay) = self.delay {
            builder = builder.with_scheduled_delay(delay);
        }
        if let Some(queue) = self.max_queue {
            builder = builder.with_max_queue_size(queue);
        }
        if let Some(batch) = self.max_batch {
            builder = builder.with_max_export_batch_size(batch);
        }
        builder.build()
    }
}

/// `OTEL_BSP_*`, read here so that a bad value stops start-up (the SDK
/// would ignore it).
fn batch_config(vars: Vars<'_>) -> Result<SpanBatch, TelemetryError> {
    let batch = SpanBatch {
        delay: millis(vars, "OTEL_BSP_SCHEDULE_DELAY")?,
        max_queue: count(vars, "OTEL_BSP_MAX_QUEUE_SIZE")?,
        max_batch: count(vars, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")?,
    };
    let queue = batch
        .max_queue
        .unwrap_or(opentelemetry_sdk::trace::OTEL_BSP_MAX_QUEUE_SIZE_DEFAULT);
    match batch.max_batch {
        Some(size) if size > queue => Err(invalid(
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            format!("{size} is larger than the queue ({queue})"),
        )),
        _ => Ok(batch),
    }
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
#[path = "otel_env_tests.rs"]
mod tests;
