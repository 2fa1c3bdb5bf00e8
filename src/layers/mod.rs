//! Tower layers around every call, outermost first: observe (span, metrics,
//! debug line; see `observe`) → admission (panics → not-gRPC refusal →
//! deadline → load shedding → message sizes, run as one service; see
//! `admission`) → auth (who may call; see `auth`).

mod admission;
mod auth;
mod client_cancel;
mod completion;
mod deadline;
mod load_shed;
mod message_size;
mod observe;
mod panics;
mod protocol;
mod traceparent;

pub use admission::{Admission, AdmissionFuture, AdmissionLayer};
pub use auth::{Auth, AuthFuture, AuthLayer};
pub use client_cancel::WatchedRequest;
pub use completion::{CallObserver, CompletionBody};
pub use deadline::parse_grpc_timeout;
pub use message_size::MessageSizeBody;
pub use observe::{CallEnd, Observe, ObserveFuture, ObserveLayer, connection_attributes};
