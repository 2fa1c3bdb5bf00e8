//! Knowing that the client broke its request off. tonic reads a reset
//! request stream as its end: a unary call then answers INTERNAL ("Missing
//! request message") and a stream ends as if completed. Neither is the
//! server's doing, so the call is recorded as CANCELLED instead.
use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, ready},
};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// Set once the request body of a call has failed (reset or cut off).
#[derive(Debug, Clone, Default)]
pub(crate) struct BrokenOff(Arc<AtomicBool>);

impl BrokenOff {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pin_project! {
    /// A request body that sets its [`BrokenOff`] flag when it fails.
    pub struct WatchedRequest<B> {
        #[pin]
        inner: B,
        broken_off: Option<BrokenOff>,
    }
}

impl<B> WatchedRequest<B> {
    /// `inner`, watched when there is a flag to set.
    pub(crate) fn new(inner: B, broken_off: Option<BrokenOff>) -> Self {
        Self { inner, broken_off }
    }
}

impl<B: Body> Body for WatchedRequest<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let (Some(Err(_)), Some(broken_off)) = (&frame, this.broken_off) {
            broken_off.0.store(true, Ordering::Relaxed);
        }
        Poll::Ready(frame)
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
    use bytes::Bytes;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    #[tokio::test]
    async fn a_failing_request_sets_the_flag_and_a_complete_one_does_not() {
        let complete = StreamBody::new(futures::stream::iter([Ok::<_, std::io::Error>(
            Frame::data(Bytes::from_static(b"message")),
        )]));
        let flag = BrokenOff::default();
        let body = WatchedRequest::new(complete, Some(flag.clone()));
        assert!(body.collect().await.is_ok());
        assert!(!flag.is_set());

        let reset = StreamBody::new(futures::stream::iter([
            Ok(Frame::data(Bytes::from_static(b"mess"))),
            Err(std::io::Error::other("stream reset")),
        ]));
        let flag = BrokenOff::default();
        let body = WatchedRequest::new(reset, Some(flag.clone()));
        assert!(body.collect().await.is_err());
        assert!(flag.is_set());
    }
}
