//! The store conformance suite: every behaviour the directory relies on,
//! written once against the `UserStore` trait and run for every backend
//! that `backends::backends()` lists.

mod backends;
mod create;
mod delete;
mod durability;
mod list;
mod purge;
mod update;
