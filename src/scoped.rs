//! A value current on one thread while a call is polled: set by a layer
//! around each poll, read when a log line is written (the call's name, its
//! caller). A thread-local, because a call runs on one thread per poll and
//! this costs a swap, where a value in a new OpenTelemetry context per call
//! would cost an allocation.
use std::{cell::RefCell, thread::LocalKey};

/// A thread-local slot for a [`Scoped`] value.
pub(crate) type Slot<T> = LocalKey<RefCell<Option<T>>>;

/// The value in `slot` on this thread, if one is entered.
pub(crate) fn current<T: Clone + 'static>(slot: &'static Slot<T>) -> Option<T> {
    slot.with_borrow(Clone::clone)
}

/// Restores the slot's previous value when dropped.
#[derive(Debug)]
pub(crate) struct Scoped<T: 'static> {
    slot: &'static Slot<T>,
    previous: Option<T>,
}

/// Makes `value` current in `slot` on this thread until the guard drops.
pub(crate) fn enter<T: Clone + 'static>(slot: &'static Slot<T>, value: &T) -> Scoped<T> {
    Scoped {
        slot,
        previous: slot.replace(Some(value.clone())),
    }
}

impl<T: 'static> Drop for Scoped<T> {
    fn drop(&mut self) {
        self.slot.set(self.previous.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static SLOT: RefCell<Option<u32>> = const { RefCell::new(None) };
    }

    #[test]
    fn a_value_is_current_while_entered_and_the_previous_one_comes_back() {
        assert_eq!(current(&SLOT), None);
        {
            let _outer = enter(&SLOT, &1);
            {
                let _inner = enter(&SLOT, &2);
                assert_eq!(current(&SLOT), Some(2));
            }
            assert_eq!(current(&SLOT), Some(1));
            let elsewhere = std::thread::spawn(|| current(&SLOT));
            assert_eq!(
                elsewhere.join().expect("joined"),
                None,
                "other threads see none"
            );
        }
        assert_eq!(current(&SLOT), None);
    }
}
