//! Deadlines: a call gets the client's `grpc-timeout`, bounded by the
//! server's `limits.request_timeout`, and is answered DEADLINE_EXCEEDED
//! (trailers-only) when that runs out; the handler is dropped, so its work
//! and its concurrency permit end too. Tonic alone ends such calls with
//! CANCELLED, which clients and dashboards read as "the caller gave up".
//!
//! A `grpc-timeout` that breaks the spec (1 to 8 digits, then one of
//! `H M S m u n`) is answered INTERNAL "malformed grpc-timeout header", as
//! grpc-go does, rather than silently served without a deadline.
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::{
    task::coop::{Unconstrained, unconstrained},
    time::{Instant, Sleep, sleep_until},
};
use tonic::Code;

use crate::errors;

/// The request header that carries the client's deadline (a `HeaderName`,
/// so finding it never parses the name).
static GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");
/// Timers fire on millisecond ticks: a shorter deadline has passed by the
/// time a timer could report it, so it is answered at once.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);
/// Where tokio puts deadlines too far away to represent (about 30 years).
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The time a call may take: the client's `grpc-timeout` bounded by
/// `request_timeout`, or the answer to send at once when the header is
/// malformed or the deadline shorter than a timer can measure.
pub(crate) fn call_timeout<B: Default>(
    request: &http::Request<impl Sized>,
    request_timeout: Duration,
) -> Result<Duration, http::Response<B>> {
    let client_timeout = match crate::headers::find(request.headers(), &GRPC_TIMEOUT) {
        None => None,
        Some(value) => match parse_grpc_timeout(value.as_bytes()) {
            Some(timeout) => Some(timeout),
            None => {
                tracing::debug!(rpc.path = request.uri().path(), "call.malformed_timeout");
                let status = errors::status(
                    Code::Internal,
                    "malformed grpc-timeout header",
                    "MALFORMED_GRPC_TIMEOUT",
                );
                return Err(status.into_http());
            }
        },
    };
    let timeout = client_timeout.map_or(request_timeout, |client| client.min(request_timeout));
    if timeout < TIMER_RESOLUTION {
        return Err(deadline_exceeded(timeout));
    }
    Ok(timeout)
}

pin_project! {
    /// One call's deadline, counted from when the call began. The timer is
    /// armed only once the call is found pending: most calls end on their
    /// first poll, and a timer costs a driver lock, a wheel insertion and a
    /// removal per call.
    ///
    /// tonic's own `grpc-timeout` timer (which wraps this layer and would
    /// answer CANCELLED) starts after this deadline is taken, for the same
    /// time, and polls this layer first, so this layer's answer is the one
    /// sent.
    pub(crate) struct CallDeadline {
        began: Instant,
        timeout: Duration,
        // Unconstrained, as `tokio::time::timeout` polls its timer once the
        // call used up the task's budget: a busy call still times out.
        #[pin]
        timer: Option<Unconstrained<Sleep>>,
    }
}

impl CallDeadline {
    /// A deadline `timeout` from now.
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            began: Instant::now(),
            timeout,
            timer: None,
        }
    }

    /// Ready once the deadline has passed; call only after the call itself
    /// was polled and found pending (this arms the timer).
    pub(crate) fn poll_expired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if this.timer.is_none() {
            let at = this
                .began
                .checked_add(*this.timeout)
                .unwrap_or_else(|| *this.began + FAR_FUTURE);
            this.timer.set(Some(unconstrained(sleep_until(at))));
        }
        match this.timer.as_pin_mut() {
            Some(timer) => timer.poll(cx),
            None => Poll::Pending,
        }
    }

    /// The DEADLINE_EXCEEDED answer for this deadline.
    pub(crate) fn exceeded<B: Default>(&self) -> http::Response<B> {
        deadline_exceeded(self.timeout)
    }
}

fn deadline_exceeded<B: Default>(timeout: Duration) -> http::Response<B> {
    let message = format!(
        "deadline exceeded after {}",
        humantime::format_duration(timeout)
    );
    errors::status(Code::DeadlineExceeded, message, "DEADLINE_EXCEEDED").into_http()
}

/// Parses a `grpc-timeout` value as the gRPC over HTTP/2 spec defines it:
/// 1 to 8 ASCII digits, then `H`, `M`, `S`, `m`, `u` or `n`.
pub fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount = digits
        .iter()
        .fold(0_u64, |sum, digit| sum * 10 + u64::from(digit - b'0'));
    match unit {
        b'H' => Some(Duration::from_secs(amount * 3600)),
        b'M' => Some(Duration::from_secs(amount * 60)),
        b'S' => Some(Duration::from_secs(amount)),
        b'm' => Some(Duration::from_millis(amount)),
        b'u' => Some(Duration::from_micros(amount)),
        b'n' => Some(Duration::from_nanos(amount)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_of_the_spec_is_read() {
        let cases: [(&[u8], Duration); 7] = [
            (b"2H", Duration::from_secs(7200)),
            (b"3M", Duration::from_secs(180)),
            (b"10S", Duration::from_secs(10)),
            (b"250m", Duration::from_millis(250)),
            (b"7u", Duration::from_micros(7)),
            (b"1n", Duration::from_nanos(1)),
            (b"99999999H", Duration::from_secs(99_999_999 * 3600)),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_grpc_timeout(value), Some(expected), "{value:?}");
        }
    }

    #[test]
    fn values_outside_the_spec_are_refused() {
        let cases: [&[u8]; 9] = [
            b"",
            b"S",
            b"10",
            b"10s",
            b"123456789S",
            b"-1S",
            b"1.5S",
            b" 1S",
            b"1 S",
        ];
        for value in cases {
            assert_eq!(parse_grpc_timeout(value), None, "{value:?}");
        }
    }
}
