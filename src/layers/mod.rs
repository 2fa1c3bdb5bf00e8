//! Tower layers around every call, outermost first, one job each:
//! trace → metrics → admission (panics → not-gRPC refusal → deadline → load
//! shedding → message sizes, run as one service; see `admission`).

mod admission;
mod completion;
mod deadline;
mod load_shed;
mod message_size;
mod metrics;
mod panics;
mod protocol;
mod rpc;
mod trace;

pub use admission::{Admission, AdmissionFuture, AdmissionLayer};
pub use completion::{CallObserver, CompletionBody};
pub use deadline::parse_grpc_timeout;
pub use message_size::MessageSizeBody;
pub use metrics::{CallMetrics, MetricsLayer, RecordMetrics};
pub(crate) use rpc::{ALL_CODES, CATALOG, Method, code_name};
pub use trace::{CallTrace, Trace, TraceLayer};
