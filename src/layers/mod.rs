//! Tower layers around every call, one job each.

mod deadline;
mod load_shed;
mod message_size;
mod panics;
mod protocol;

pub use deadline::{Deadline, DeadlineLayer, parse_grpc_timeout};
pub use load_shed::{LoadShed, LoadShedLayer};
pub use message_size::{MessageSize, MessageSizeBody, MessageSizeLayer};
pub use panics::{CatchPanic, CatchPanicLayer};
pub use protocol::{GrpcOnly, GrpcOnlyLayer};
