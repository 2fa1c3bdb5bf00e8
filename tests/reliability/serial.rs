//! One test at a time. Each test here loads the machine on purpose (a flood,
//! clients hammering a shutdown) or measures latency, so running them side
//! by side would make each one's figures about the others.
use tokio::sync::{Mutex, MutexGuard};

static MACHINE: Mutex<()> = Mutex::const_new(());

/// Held for the whole test; works across the tests' separate runtimes.
pub(crate) async fn alone() -> MutexGuard<'static, ()> {
    MACHINE.lock().await
}
