//! Tower layers around every call, one job each.

mod deadline;
mod load_shed;
mod message_size;
mod panics;
mod protocol;

use std::{future::Future, pin::Pin};

pub use deadline::{Deadline, DeadlineLayer, parse_grpc_timeout};
pub use load_shed::{LoadShed, LoadShedLayer};
pub use message_size::{MessageSize, MessageSizeBody, MessageSizeLayer};
pub use panics::{CatchPanic, CatchPanicLayer};
pub use protocol::{GrpcOnly, GrpcOnlyLayer};

/// The future of the layers here: boxed, so they stack in any order.
type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// Answers at once, without calling the inner service.
fn answer_now<T: Send + 'static, E: Send + 'static>(response: T) -> BoxFuture<T, E> {
    Box::pin(std::future::ready(Ok(response)))
}
