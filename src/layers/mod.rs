//! Tower layers around every call, one job each.

mod panics;

pub use panics::{CatchPanic, CatchPanicLayer};
