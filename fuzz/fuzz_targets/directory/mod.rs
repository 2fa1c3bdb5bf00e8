//! The parts of the `directory_request` target: the values inputs pick
//! from, the carver that turns an input into a request, the request as sent
//! and what its answer must be.

pub mod checks;
pub mod input;
pub mod request;
pub mod sent;
pub mod vocabulary;
