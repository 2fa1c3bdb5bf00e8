//! Tower layers around every call, outermost first, one job each:
//! trace → metrics → panics.

mod completion;
mod metrics;
mod panics;
mod rpc;
mod trace;

pub use completion::{CallObserver, CompletionBody};
pub use metrics::{CallMetrics, MetricsLayer, RecordMetrics};
pub use panics::{CatchPanic, CatchPanicLayer};
pub(crate) use rpc::{ALL_CODES, CATALOG, Method, code_name};
pub use trace::{CallTrace, Trace, TraceLayer};
