//! Who may call, decided before any handler (see `crate::auth`): open
//! methods pass, a refused call is answered at once (UNAUTHENTICATED,
//! PERMISSION_DENIED or UNAVAILABLE with its `ErrorInfo`), and an allowed
//! call runs with its subject on the call's span (`enduser.id`) and on the
//! log lines written while it is polled. With `auth.mode = none` the layer
//! holds nothing and every call passes through untouched.
use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use opentelemetry::{KeyValue, StringValue, trace::TraceContextExt};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::auth::{self, Authenticator, Decision, Outcome, Pending};

/// Wraps services in [`Auth`].
#[derive(Debug, Clone, Default)]
pub struct AuthLayer {
    authenticator: Option<Arc<Authenticator>>,
}

impl AuthLayer {
    /// Decides with `authenticator`; `None` lets every call through.
    pub fn new(authenticator: Option<Arc<Authenticator>>) -> Self {
        Self { authenticator }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

/// Lets a call reach `S` only when its caller may make it.
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    authenticator: Option<Arc<Authenticator>>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Auth<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = AuthFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let Some(authenticator) = &self.authenticator else {
            return AuthFuture::running(self.inner.call(request), None);
        };
        match authenticator.decide(&request) {
            Decision::Open => AuthFuture::running(self.inner.call(request), None),
            Decision::Allow(principal) => {
                authenticator.record(Outcome::Allowed);
                annotate_span(&principal.subject);
                if tracing::enabled!(tracing::Level::DEBUG) {
                    let _caller = auth::enter(&principal.subject);
                    tracing::debug!(reason = Outcome::Allowed.reason(), "auth.allowed");
                }
                AuthFuture::running(self.inner.call(request), Some(principal.subject.clone()))
            }
            Decision::Deny(denial) => {
                authenticator.record(denial.outcome);
                tracing::debug!(reason = denial.outcome.reason(), "auth.denied");
                AuthFuture::answered(denial.status().into_http())
            }
            // The ready service goes with the call; a clone stays here.
            Decision::Pending(decision) => {
                let clone = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, clone);
                AuthFuture {
                    state: State::Deciding {
                        decision,
                        parts: Some(Box::new((ready, request, authenticator.clone()))),
                    },
                }
            }
        }
    }
}

/// Puts the caller on the call's span (current while the call is built).
fn annotate_span(subject: &Arc<str>) {
    opentelemetry::Context::map_current(|context| {
        let span = context.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new(
                "enduser.id",
                StringValue::from(subject.clone()),
            ));
        }
    });
}

pin_project! {
    /// The future of [`Auth`].
    pub struct AuthFuture<S, ReqBody>
    where
        S: Service<http::Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<http::Request<ReqBody>>,
    {
        // Waiting for the keys to be reloaded before deciding.
        // Boxed: rare, and the future every call carries stays small.
        Deciding {
            decision: Pending,
            parts: Option<Box<(S, http::Request<ReqBody>, Arc<Authenticator>)>>,
        },
        Running {
            #[pin]
            call: S::Future,
            // Current on this thread while the call is polled.
            subject: Option<Arc<str>>,
        },
        Answered { response: Option<S::Response> },
    }
}

impl<S, ReqBody> AuthFuture<S, ReqBody>
where
    S: Service<http::Request<ReqBody>>,
{
    fn running(call: S::Future, subject: Option<Arc<str>>) -> Self {
        Self {
            state: State::Running { call, subject },
        }
    }

    fn answered(response: S::Response) -> Self {
        Self {
            state: State::Answered {
                response: Some(response),
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for AuthFuture<S, ReqBody>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Output = Result<http::Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            let next = match state.as_mut().project() {
                StateProj::Running { call, subject } => {
                    let _entered = subject.as_ref().map(auth::enter);
                    return call.poll(cx);
                }
                StateProj::Answered { response } => {
                    return match response.take() {
                        Some(response) => Poll::Ready(Ok(response)),
                        None => Poll::Pending,
                    };
                }
                StateProj::Deciding { decision, parts } => {
                    let decided = ready!(decision.as_mut().poll(cx));
                    let Some(taken) = parts.take() else {
                        return Poll::Pending;
                    };
                    let (mut inner, request, authenticator) = *taken;
                    match decided {
                        Ok(principal) => {
                            authenticator.record(Outcome::Allowed);
                            annotate_span(&principal.subject);
                            State::Running {
                                call: inner.call(request),
                                subject: Some(principal.subject.clone()),
                            }
                        }
                        Err(denial) => {
                            authenticator.record(denial.outcome);
                            tracing::debug!(reason = denial.outcome.reason(), "auth.denied");
                            State::Answered {
                                response: Some(denial.status().into_http()),
                            }
                        }
                    }
                }
            };
            state.set(next);
        }
    }
}
