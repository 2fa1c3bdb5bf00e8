//! Reliability under load and faults, measured against the real binary:
//! draining with slow calls in flight, the instant accepting stops, and
//! load shedding that keeps accepted calls fast.
//!
//! Slow calls (see `slow`) hold a request body back, so the server cannot
//! answer until the test says so: no test-only server code is needed to keep
//! calls in flight for as long as a test wants.

mod client;
mod drain;
mod drain_edge;
mod latency;
mod overload;
#[path = "../common/process.rs"]
mod process;
mod serial;
mod slow;
