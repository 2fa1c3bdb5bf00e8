//! The subject of the call being polled, for log lines: set by the auth
//! layer around each poll of an allowed call, read by the JSON log format
//! (`enduser.id`).
use std::{cell::RefCell, sync::Arc};

use crate::scoped::{self, Scoped};

thread_local! {
    static SUBJECT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// The subject of the call being polled on this thread, if it has one.
pub fn current_subject() -> Option<Arc<str>> {
    scoped::current(&SUBJECT)
}

/// Makes `subject` current until the guard drops.
pub(crate) fn enter(subject: &Arc<str>) -> Scoped<Arc<str>> {
    scoped::enter(&SUBJECT, subject)
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
