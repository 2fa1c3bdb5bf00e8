//! The user directory (`user.v1.UserService`) end to end: every rule of its
//! contract through a real tonic client against the real server on port 0,
//! each test over an SQLite file of its own.

mod concurrency;
mod create;
mod delete;
mod fields;
mod get;
mod health;
mod list_filter;
mod list_pages;
mod list_tokens;
mod metrics;
mod names;
mod paging_under_change;
mod purge;
mod server;
mod support;
mod update;
mod update_masks;
