//! Checks of values that parse but cannot work.
use std::{fmt, time::Duration};

use tracing_subscriber::EnvFilter;

use super::{Settings, limits, tls};

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
    fn unparseable_log_filter_is_rejected() {
        let mut settings = Settings::default();
        settings.log.level = "user_service=loud".to_owned();
        assert_eq!(validate(&settings).map_err(|e| e.key), Err("log.level"));
    }
}
