//! One test at a time where it matters: a load of creates, a filesystem
//! filling up or a signal sent would make the others' timings about it.
use tokio::sync::{Mutex, MutexGuard};

static MACHINE: Mutex<()> = Mutex::const_new(());

/// Held for the whole test; works across the tests' separate runtimes.
pub(crate) async fn alone() -> MutexGuard<'static, ()> {
    MACHINE.lock().await
}
