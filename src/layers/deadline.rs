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
    task::{Context, Poll},
    time::Duration,
};

use tonic::Code;
use tower::{Layer, Service};

use super::{BoxFuture, answer_now};
use crate::errors;

/// The request header that carries the client's deadline.
const GRPC_TIMEOUT: &str = "grpc-timeout";
/// Timers fire on millisecond ticks: a shorter deadline has passed by the
/// time a timer could report it, so it is answered at once.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// Wraps services in [`Deadline`].
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    request_timeout: Duration,
}

impl DeadlineLayer {
    /// `request_timeout` bounds every call; a client's shorter deadline wins.
    pub fn new(request_timeout: Duration) -> Self {
        Self { request_timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline {
            inner,
            request_timeout: self.request_timeout,
        }
    }
}

/// Answers DEADLINE_EXCEEDED when the call's deadline passes.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    request_timeout: Duration,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Deadline<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let client_timeout = match request.headers().get(GRPC_TIMEOUT) {
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
                    return answer_now(status.into_http());
                }
            },
        };
        let timeout = client_timeout.map_or(self.request_timeout, |client| {
            client.min(self.request_timeout)
        });
        if timeout < TIMER_RESOLUTION {
            return answer_now(deadline_exceeded(timeout));
        }
        // tonic's own `grpc-timeout` timer (which wraps this layer and would
        // answer CANCELLED) is armed after this one for the same time and
        // polls this layer first, so this layer's answer is the one sent.
        let call = tokio::time::timeout(timeout, self.inner.call(request));
        Box::pin(async move {
            match call.await {
                Ok(result) => result,
                Err(_) => Ok(deadline_exceeded(timeout)),
            }
        })
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
