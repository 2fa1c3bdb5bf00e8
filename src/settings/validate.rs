//! Checks of values that parse but cannot work.
use std::{fmt, time::Duration};

use tracing_subscriber::EnvFilter;

use super::{Settings, auth, limits, store, tls};

/// The longest a shutdown phase may last: anything longer is surely a typo
/// (`"300m"` for `"300ms"`) and would stall deployments.
const MAX_SHUTDOWN_PHASE: Duration = Duration::from_secs(3600);

/// A setting that holds an impossible value: its key and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub(super) key: &'static str,
    pub(super) reason: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid setting `{}`: {}", self.key, self.reason)
    }
}

impl std::error::Error for Invalid {}

pub(super) fn invalid(key: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid {
        key,
        reason: reason.into(),
    }
}

/// Returns the first impossible value found.
pub(super) fn validate(settings: &Settings) -> Result<(), Invalid> {
    limits::validate(&settings.limits)?;
    tls::validate(&settings.tls)?;
    store::validate(&settings.store, &settings.directory)?;
    let mutual_tls = !settings.tls.client_ca_file.as_os_str().is_empty();
    auth::validate(&settings.auth, mutual_tls)?;
    let shutdown = &settings.shutdown;
    if shutdown.grace_period > MAX_SHUTDOWN_PHASE {
        return Err(invalid("shutdown.grace_period", "must be at most 1h"));
    }
    if shutdown.drain_timeout.is_zero() {
        return Err(invalid(
            "shutdown.drain_timeout",
            "must be greater than 0, or in-flight calls are always cut off",
        ));
    }
    if shutdown.drain_timeout > MAX_SHUTDOWN_PHASE {
        return Err(invalid("shutdown.drain_timeout", "must be at most 1h"));
    }
    let telemetry = &settings.telemetry;
    if !(0.0..=1.0).contains(&telemetry.sampling_ratio) {
        return Err(invalid(
            "telemetry.sampling_ratio",
            "must be between 0.0 and 1.0",
        ));
    }
    if telemetry.service_name.trim().is_empty() {
        return Err(invalid("telemetry.service_name", "must not be empty"));
    }
    if telemetry.otlp_timeout.is_zero() {
        return Err(invalid("telemetry.otlp_timeout", "must be greater than 0"));
    }
    if telemetry.metrics_interval < Duration::from_secs(1) {
        return Err(invalid("telemetry.metrics_interval", "must be at least 1s"));
    }
    let endpoint = telemetry.otlp_endpoint.trim();
    let has_scheme = endpoint.starts_with("http://") || endpoint.starts_with("https://");
    if !endpoint.is_empty() && !has_scheme {
        return Err(invalid(
            "telemetry.otlp_endpoint",
            "must start with http:// or https://, or be empty to disable export",
        ));
    }
    if let Err(err) = EnvFilter::builder().parse(&settings.log.level) {
        return Err(invalid(
            "log.level",
            format!("is not a valid filter: {err}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(validate(&Settings::default()), Ok(()));
    }

    #[test]
    fn zero_drain_timeout_is_rejected() {
        let mut settings = Settings::default();
        settings.shutdown.drain_timeout = Duration::ZERO;
        let err = validate(&settings).expect_err("zero drain must be rejected");
        assert_eq!(err.key, "shutdown.drain_timeout");
    }

    #[test]
    fn hour_long_grace_period_is_the_limit() {
        let mut settings = Settings::default();
        settings.shutdown.grace_period = MAX_SHUTDOWN_PHASE;
        assert_eq!(validate(&settings), Ok(()));
        settings.shutdown.grace_period += Duration::from_secs(1);
        assert_eq!(
            validate(&settings).map_err(|e| e.key),
            Err("shutdown.grace_period")
        );
    }

    #[test]
    fn sampling_ratio_outside_zero_to_one_is_rejected() {
        let mut settings = Settings::default();
        settings.telemetry.sampling_ratio = 1.5;
        assert_eq!(
            validate(&settings).map_err(|e| e.key),
            Err("telemetry.sampling_ratio")
        );
    }

    #[test]
    fn an_endpoint_without_scheme_is_rejected() {
        let mut settings = Settings::default();
        settings.telemetry.otlp_endpoint = "jaeger:4317".to_owned();
        assert_eq!(
            validate(&settings).map_err(|e| e.key),
            Err("telemetry.otlp_endpoint")
        );
    }

    #[test]
    fn unparseable_log_filter_is_rejected() {
        let mut settings = Settings::default();
        settings.log.level = "user_service=loud".to_owned();
        assert_eq!(validate(&settings).map_err(|e| e.key), Err("log.level"));
    }
}
