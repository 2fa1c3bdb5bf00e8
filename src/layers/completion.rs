//! Learning how a call ended: the final gRPC status arrives either in the
//! response headers (trailers-only errors) or in the body's trailers (every
//! success), so observers must follow the body to its end.
use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;

use crate::methods::status_code;

/// Told once how a call ended.
pub trait CallObserver {
    /// Called with the call's final code.
    fn finish(self, code: Code);
}

pin_project! {
    /// A response body that calls its observer exactly once with the call's
    /// final code: when trailers pass, when the body ends or fails, or, if
    /// the client goes away first, on drop (as CANCELLED).
    pub struct CompletionBody<B, F: CallObserver> {
        #[pin]
        inner: B,
        on_done: Option<F>,
    }

    impl<B, F: CallObserver> PinnedDrop for CompletionBody<B, F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(on_done) = this.project().on_done.take() {
                on_done.finish(Code::Cancelled);
            }
        }
    }
}

/// Wraps `response` so `on_done` (when there is one) learns the final code;
/// trailers-only responses report at once.
pub(crate) fn observe<B, F: CallObserver>(
    response: http::Response<B>,
    on_done: Option<F>,
) -> http::Response<CompletionBody<B, F>> {
    let on_done = match on_done.map(|on_done| (on_done, status_code(response.headers()))) {
        Some((on_done, Some(code))) => {
            on_done.finish(code);
            None
        }
        Some((on_done, None)) => Some(on_done),
        None => None,
    };
    response.map(|inner| CompletionBody { inner, on_done })
}

impl<B: Body, F: CallObserver> Body for CompletionBody<B, F> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let finished = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|trailers| status_code(trailers).unwrap_or(Code::Unknown)),
            // A broken body or one without trailers is no clean gRPC ending.
            Some(Err(_)) | None => Some(Code::Unknown),
        };
        let Some(code) = finished else {
            return Poll::Ready(frame);
        };
        if let Some(on_done) = this.on_done.take() {
            on_done.finish(code);
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
