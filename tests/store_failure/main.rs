//! The store under stress, against the real binary: acknowledged writes
//! survive `kill -9` and restarts, a full or read-only store answers
//! UNAVAILABLE / RESOURCE_EXHAUSTED (never INTERNAL, never a hang) and takes
//! `user.v1.UserService` out of rotation while `""` stays SERVING, and bad
//! store settings stop the binary at start-up with a clear message.
//!
//! The tests that fail the filesystem need root (they mount); without it
//! they print `SKIPPED` and pass.

mod disk_full;
mod durability;
mod migrate;
mod mounts;
#[path = "../common/process.rs"]
mod process;
mod read_only;
mod restart;
mod serial;
mod service;
mod startup;
