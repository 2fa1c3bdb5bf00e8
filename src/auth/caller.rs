//! The subject of the call being polled, for log lines: set by the auth
//! layer around each poll of an allowed call, read by the JSON log format
//! (`enduser.id`). A thread-local, because a call runs on one thread per
//! poll and this costs a pointer swap, where a new OpenTelemetry context
//! per call would cost an allocation.
use std::{cell::RefCell, sync::Arc};

thread_local! {
    static SUBJECT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// The subject of the call being polled on this thread, if it has one.
pub fn current_subject() -> Option<Arc<str>> {
    SUBJECT.with_borrow(Clone::clone)
}

/// Restores the previous subject when dropped.
pub(crate) struct Entered(Option<Arc<str>>);

/// Makes `subject` current until the guard drops.
pub(crate) fn enter(subject: &Arc<str>) -> Entered {
    Entered(SUBJECT.replace(Some(subject.clone())))
}

impl Drop for Entered {
    fn drop(&mut self) {
        SUBJECT.set(self.0.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_current_while_entered() {
        assert!(current_subject().is_none());
        let subject: Arc<str> = Arc::from("alice");
        {
            let _entered = enter(&subject);
            assert_eq!(current_subject().as_deref(), Some("alice"));
        }
        assert!(current_subject().is_none());
    }
}
