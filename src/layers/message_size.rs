//! Message size limits are tonic's (`max_decoding_message_size` and
//! `max_encoding_message_size` on each service); this layer corrects their
//! status. tonic answers an oversized message with OUT_OF_RANGE, where the
//! gRPC status code guide (and grpc-go, grpc-java, grpc-core) answers
//! RESOURCE_EXHAUSTED. Oversized requests fail trailers-only (response
//! headers); oversized responses fail in the trailers, so both are checked.
use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tonic::{Code, Status};

use crate::{errors, methods::grpc_status};

/// How tonic's codec words its size errors (tonic 0.14); the tests in
/// `tests/api/message_size.rs` fail if a tonic upgrade changes them.
const TONIC_SIZE_ERRORS: [&str; 2] = [
    "Error, decoded message length too large",
    "Error, encoded message length too large",
];

/// `response` with an oversized-message status corrected in its headers
/// now and in its trailers when they pass.
pub(crate) fn corrected<B>(mut response: http::Response<B>) -> http::Response<MessageSizeBody<B>> {
    correct(response.headers_mut());
    response.map(|inner| MessageSizeBody { inner })
}

/// Rewrites a size error's status in `headers` (headers or trailers).
fn correct(headers: &mut HeaderMap) {
    // The common case, any other status, is settled by one look at
    // `grpc-status`.
    if grpc_status(headers).map(|code| code.as_bytes()) != Some(b"11") {
        return;
    }
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if !TONIC_SIZE_ERRORS
        .iter()
        .any(|prefix| status.message().starts_with(prefix))
    {
        return;
    }
    let corrected = errors::status(
        Code::ResourceExhausted,
        status.message(),
        "MESSAGE_TOO_LARGE",
    );
    if corrected.add_header(headers).is_err() {
        tracing::warn!("message_size.status_not_rewritten");
    }
}

/// A response body whose trailers get an oversized-message status corrected.
#[derive(Debug, Default)]
pub struct MessageSizeBody<B> {
    inner: B,
}

impl<B: Body + Unpin> Body for MessageSizeBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        Poll::Ready(frame.map(|result| {
            result.map(|mut frame| {
                if let Some(trailers) = frame.trailers_mut() {
                    correct(trailers);
                }
                frame
            })
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;

    fn headers_of(status: &Status) -> HeaderMap {
        let mut headers = HeaderMap::new();
        status.add_header(&mut headers).expect("valid status");
        headers
    }

    #[test]
    fn tonics_size_errors_become_resource_exhausted_with_a_reason() {
        let tonic_says = Status::out_of_range(
            "Error, decoded message length too large: found 10 bytes, the limit is: 4 bytes",
        );
        let mut headers = headers_of(&tonic_says);
        correct(&mut headers);
        let status = Status::from_header_map(&headers).expect("a status");
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), tonic_says.message());
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "MESSAGE_TOO_LARGE");
    }

    #[test]
    fn other_statuses_are_left_alone() {
        for status in [
            Status::out_of_range("page 7 of 3"),
            Status::not_found("Sorry, id is not allowed 0"),
        ] {
            let mut headers = headers_of(&status);
            let before = headers.clone();
            correct(&mut headers);
            assert_eq!(headers, before);
        }
    }
}
