//! `[limits]`: what one call, one connection and the whole server may use, so
//! that bad or excessive input meets a typed status instead of a crash or a hang.
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::validate::{Invalid, invalid};

/// Smallest message or header limit accepted: gRPC's own headers need a few
/// hundred bytes, so anything lower is a typo (`4` for `"4MiB"`).
const MIN_SIZE_LIMIT: u64 = 1024;
/// A gRPC message's length prefix and an HTTP/2 setting are both 32-bit.
const MAX_SIZE_LIMIT: u64 = u32::MAX as u64;

/// `[limits]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    /// Bound on every call; a client's shorter `grpc-timeout` wins. Expiry
    /// answers DEADLINE_EXCEEDED.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Calls in progress at once across all connections; beyond it calls fail
    /// at once with RESOURCE_EXHAUSTED. Health and reflection are exempt.
    pub max_concurrent_calls: usize,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Largest request message; larger ones answer RESOURCE_EXHAUSTED.
    #[serde(with = "super::size")]
    pub max_decoding_message_size: u64,
    /// Largest response message; larger ones answer RESOURCE_EXHAUSTED.
    #[serde(with = "super::size")]
    pub max_encoding_message_size: u64,
    /// Largest request header block (metadata) HTTP/2 accepts.
    #[serde(with = "super::size")]
    pub max_header_list_size: u64,
    /// Longest `name` (UTF-8 bytes) ListUser accepts; longer ones answer
    /// INVALID_ARGUMENT with a `google.rpc.BadRequest` naming the field.
    #[serde(with = "super::size")]
    pub max_name_length: u64,
    /// Idle time after which the server pings a connection (HTTP/2 keepalive).
    #[serde(with = "humantime_serde")]
    pub keepalive_interval: Duration,
    /// How long a keepalive ping may go unanswered before the connection closes.
    #[serde(with = "humantime_serde")]
    pub keepalive_timeout: Duration,
    /// Age at which a connection is asked to go away (GOAWAY), so long-lived
    /// clients reconnect and spread over new replicas.
    #[serde(with = "humantime_serde")]
    pub max_connection_age: Duration,
    /// After that, how long its calls may still run before it is closed.
    #[serde(with = "humantime_serde")]
    pub max_connection_age_grace: Duration,
    /// A new connection must finish its TLS handshake and send the HTTP/2
    /// preface within this, or it is closed.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
}

impl Default for LimitsSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_concurrent_calls: 1024,
            max_concurrent_streams: 200,
            max_decoding_message_size: 4 << 20,
            // An answer holds the name twice: room for every request that
            // the decoding limit admits, as the original service answered them.
            max_encoding_message_size: 16 << 20,
            max_header_list_size: 16 << 10,
            // Every name that fits in a request, as the original accepted.
            max_name_length: 4 << 20,
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            max_connection_age: Duration::from_secs(30 * 60),
            max_connection_age_grace: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl LimitsSettings {
    /// `max_decoding_message_size` as tonic takes it.
    pub fn decoding_limit(&self) -> usize {
        saturating_usize(self.max_decoding_message_size)
    }

    /// `max_encoding_message_size` as tonic takes it.
    pub fn encoding_limit(&self) -> usize {
        saturating_usize(self.max_encoding_message_size)
    }

    /// `max_header_list_size` as HTTP/2 takes it.
    pub fn header_list_limit(&self) -> u32 {
        u32::try_from(self.max_header_list_size).unwrap_or(u32::MAX)
    }

    /// `max_name_length` in bytes.
    pub fn name_length_limit(&self) -> usize {
        saturating_usize(self.max_name_length)
    }
}

fn saturating_usize(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// Returns the first impossible limit found.
pub(super) fn validate(limits: &LimitsSettings) -> Result<(), Invalid> {
    let durations = [
        ("limits.request_timeout", limits.request_timeout),
        ("limits.keepalive_interval", limits.keepalive_interval),
        ("limits.keepalive_timeout", limits.keepalive_timeout),
        ("limits.max_connection_age", limits.max_connection_age),
        (
            "limits.max_connection_age_grace",
            limits.max_connection_age_grace,
        ),
        ("limits.handshake_timeout", limits.handshake_timeout),
    ];
    if let Some((key, _)) = durations.iter().find(|(_, value)| value.is_zero()) {
        return Err(invalid(key, "must be greater than 0"));
    }
    if limits.max_concurrent_calls == 0 {
        return Err(invalid(
            "limits.max_concurrent_calls",
            "must be at least 1, or every call is refused",
        ));
    }
    if limits.max_concurrent_calls > tokio::sync::Semaphore::MAX_PERMITS {
        return Err(invalid(
            "limits.max_concurrent_calls",
            format!("must be at most {}", tokio::sync::Semaphore::MAX_PERMITS),
        ));
    }
    if limits.max_concurrent_streams == 0 {
        return Err(invalid(
            "limits.max_concurrent_streams",
            "must be at least 1, or no call can start",
        ));
    }
    let sizes = [
        (
            "limits.max_decoding_message_size",
            limits.max_decoding_message_size,
        ),
        (
            "limits.max_encoding_message_size",
            limits.max_encoding_message_size,
        ),
        ("limits.max_header_list_size", limits.max_header_list_size),
    ];
    for (key, size) in sizes {
        if !(MIN_SIZE_LIMIT..=MAX_SIZE_LIMIT).contains(&size) {
            return Err(invalid(key, "must be between 1KiB and 4GiB - 1 byte"));
        }
    }
    if limits.max_name_length == 0 {
        return Err(invalid("limits.max_name_length", "must be at least 1 byte"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(limits: &LimitsSettings) -> Option<&'static str> {
        validate(limits).err().map(|invalid| invalid.key)
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(key_of(&LimitsSettings::default()), None);
    }

    #[test]
    fn zero_durations_and_counts_are_rejected() {
        let defaults = LimitsSettings::default;
        let cases = [
            (
                LimitsSettings {
                    request_timeout: Duration::ZERO,
                    ..defaults()
                },
                "limits.request_timeout",
            ),
            (
                LimitsSettings {
                    max_connection_age_grace: Duration::ZERO,
                    ..defaults()
                },
                "limits.max_connection_age_grace",
            ),
            (
                LimitsSettings {
                    max_concurrent_calls: 0,
                    ..defaults()
                },
                "limits.max_concurrent_calls",
            ),
            (
                LimitsSettings {
                    max_concurrent_streams: 0,
                    ..defaults()
                },
                "limits.max_concurrent_streams",
            ),
        ];
        for (limits, key) in cases {
            assert_eq!(key_of(&limits), Some(key));
        }
    }

    #[test]
    fn sizes_must_fit_between_one_kib_and_the_32_bit_length() {
        let too_small = LimitsSettings {
            max_decoding_message_size: 4,
            ..LimitsSettings::default()
        };
        assert_eq!(key_of(&too_small), Some("limits.max_decoding_message_size"));
        let largest = LimitsSettings {
            max_decoding_message_size: MAX_SIZE_LIMIT,
            ..LimitsSettings::default()
        };
        assert_eq!(key_of(&largest), None);
        let too_large = LimitsSettings {
            max_header_list_size: MAX_SIZE_LIMIT + 1,
            ..LimitsSettings::default()
        };
        assert_eq!(key_of(&too_large), Some("limits.max_header_list_size"));
    }

    #[test]
    fn a_concurrency_limit_beyond_what_a_semaphore_holds_is_rejected() {
        let limits = LimitsSettings {
            max_concurrent_calls: usize::MAX,
            ..LimitsSettings::default()
        };
        assert_eq!(key_of(&limits), Some("limits.max_concurrent_calls"));
    }
}
