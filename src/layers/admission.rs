//! The checks every call passes below the span and the metrics, in this
//! order: panics caught → not-gRPC refusal → deadline → load shedding →
//! message sizes. Each check lives in its own module; this one runs them as
//! a single service with one unboxed future and one body wrapper, instead of
//! five layers each boxing a future per call.
use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use http::uri::PathAndQuery;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::{
    deadline::{CallDeadline, call_timeout},
    load_shed::{CallPermit, CallPermits},
    message_size::{MessageSizeBody, corrected},
    panics::answer_panic,
    protocol::refuse,
};

/// Wraps services in [`Admission`], all sharing one limit on calls in
/// progress.
#[derive(Debug, Clone)]
pub struct AdmissionLayer {
    request_timeout: Duration,
    permits: CallPermits,
}

impl AdmissionLayer {
    /// `request_timeout` bounds every call (a client's shorter deadline
    /// wins); at most `max_concurrent_calls` calls run at once, server-wide.
    pub fn new(request_timeout: Duration, max_concurrent_calls: usize) -> Self {
        Self {
            request_timeout,
            permits: CallPermits::new(max_concurrent_calls),
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            layer: self.clone(),
        }
    }
}

/// Refuses, bounds and corrects calls (see the module documentation).
#[derive(Debug, Clone)]
pub struct Admission<S> {
    inner: S,
    layer: AdmissionLayer,
}

/// What a call needs while it runs.
struct Admitted<F> {
    call: F,
    deadline: CallDeadline,
    permit: Option<CallPermit>,
}

impl<S> Admission<S> {
    /// Runs the checks in order; the first that refuses answers.
    fn admit<ReqBody, ResBody>(
        &mut self,
        request: http::Request<ReqBody>,
    ) -> Result<Admitted<S::Future>, http::Response<MessageSizeBody<ResBody>>>
    where
        S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
        ResBody: Default,
    {
        if let Some(refusal) = refuse(&request) {
            return Err(refusal);
        }
        let timeout = call_timeout(&request, self.layer.request_timeout)?;
        let permit = self.layer.permits.admit(request.uri().path())?;
        let call = self.inner.call(request);
        Ok(Admitted {
            call,
            deadline: CallDeadline::new(timeout),
            permit,
        })
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Admission<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<MessageSizeBody<ResBody>>;
    type Error = S::Error;
    type Future = AdmissionFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // Kept for the log line of a panic, which is rare: only the path,
        // whose clone shares its bytes (the scheme and authority are not
        // needed, so they are not cloned and dropped on every call). A
        // request without one (never gRPC) logs as the root.
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        // A panic while building the future is caught like one inside it.
        match catch_unwind(AssertUnwindSafe(|| self.admit(request))) {
            Ok(Ok(Admitted {
                call,
                deadline,
                permit,
            })) => AdmissionFuture {
                state: State::Running {
                    call,
                    deadline,
                    permit,
                    path,
                },
            },
            Ok(Err(answer)) => AdmissionFuture::answered(answer),
            Err(payload) => AdmissionFuture::answered(answer_panic(payload.as_ref(), path.path())),
        }
    }
}

pin_project! {
    /// The future of [`Admission`].
    pub struct AdmissionFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // Answered without calling the inner service; taken when it leaves.
        Answered { response: Option<http::Response<MessageSizeBody<B>>> },
        Running {
            #[pin]
            call: F,
            // Armed only if the call is pending.
            #[pin]
            deadline: CallDeadline,
            // Held until the call is answered; capacity frees right then.
            permit: Option<CallPermit>,
            // For the log line of a panic.
            path: PathAndQuery,
        },
        // Answered; the call's future and permit are gone.
        Done,
    }
}

impl<F, B> AdmissionFuture<F, B> {
    fn answered(response: http::Response<MessageSizeBody<B>>) -> Self {
        Self {
            state: State::Answered {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for AdmissionFuture<F, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Default,
{
    type Output = Result<http::Response<MessageSizeBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        let answer = match state.as_mut().project() {
            StateProj::Answered { response } => {
                return Poll::Ready(Ok(response.take().expect("polled after completion")));
            }
            StateProj::Done => panic!("polled after completion"),
            StateProj::Running {
                call,
                mut deadline,
                path,
                ..
            } => match catch_unwind(AssertUnwindSafe(|| call.poll(cx))) {
                Ok(Poll::Ready(result)) => result.map(corrected),
                // Polled after the call, so a call that is ready never
                // loses to its deadline.
                Ok(Poll::Pending) => {
                    ready!(deadline.as_mut().poll_expired(cx));
                    Ok(deadline.exceeded())
                }
                Err(payload) => Ok(answer_panic(payload.as_ref(), path.path())),
            },
        };
        // Drops the handler's future and returns the permit.
        state.set(State::Done);
        Poll::Ready(answer)
    }
}
