//! Tower layers around every call, outermost first, one job each:
//! trace → metrics → panics → not-gRPC refusal → deadline → load shedding
//! → message sizes.

mod completion;
mod deadline;
mod load_shed;
mod message_size;
mod metrics;
mod panics;
mod protocol;
mod rpc;
mod trace;

use std::{future::Future, pin::Pin};

pub use completion::{CallObserver, CompletionBody};
pub use deadline::{Deadline, DeadlineLayer, parse_grpc_timeout};
pub use load_shed::{LoadShed, LoadShedLayer};
pub use message_size::{MessageSize, MessageSizeBody, MessageSizeLayer};
pub use metrics::{CallMetrics, MetricsLayer, RecordMetrics};
pub use panics::{CatchPanic, CatchPanicLayer};
pub use protocol::{GrpcOnly, GrpcOnlyLayer};
pub(crate) use rpc::{ALL_CODES, CATALOG, Method, code_name};
pub use trace::{CallTrace, Trace, TraceLayer};

/// The future of the layers here: boxed, so they stack in any order.
type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// Answers at once, without calling the inner service.
fn answer_now<T: Send + 'static, E: Send + 'static>(response: T) -> BoxFuture<T, E> {
    Box::pin(std::future::ready(Ok(response)))
}
