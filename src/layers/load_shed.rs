//! Load shedding: one server-wide limit on calls in progress. A call beyond
//! it is answered RESOURCE_EXHAUSTED at once, so nothing queues without
//! bound and nothing hangs; capacity frees the moment a call ends.
//!
//! Health and reflection calls are exempt, so probes and load balancers keep
//! seeing the truth (SERVING, not failures) while the server sheds load.
//! tonic's own `concurrency_limit_per_connection` + `load_shed` would limit
//! each connection separately and answer UNAVAILABLE through an error.
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tonic::Code;

use crate::errors;

/// Path prefixes of the calls that are never shed.
const EXEMPT_PREFIXES: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];

/// The server-wide limit on calls in progress, shared by every connection.
///
/// A counter, not a semaphore: calls never wait for capacity, and giving a
/// semaphore permit back takes its waiters' lock on every call.
#[derive(Debug, Clone)]
pub(crate) struct CallPermits {
    in_progress: Arc<AtomicUsize>,
    max: usize,
}

impl CallPermits {
    /// At most `max_concurrent_calls` calls in progress, server-wide.
    pub(crate) fn new(max_concurrent_calls: usize) -> Self {
        Self {
            in_progress: Arc::new(AtomicUsize::new(0)),
            max: max_concurrent_calls,
        }
    }

    /// The permit a call to `path` holds until it is answered (`None` for
    /// exempt calls), or the RESOURCE_EXHAUSTED answer when none is left.
    pub(crate) fn admit<B: Default>(
        &self,
        path: &str,
    ) -> Result<Option<CallPermit>, http::Response<B>> {
        if EXEMPT_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
        {
            return Ok(None);
        }
        let taken = self
            .in_progress
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |calls| {
                (calls < self.max).then_some(calls + 1)
            });
        match taken {
            Ok(_) => Ok(Some(CallPermit {
                in_progress: Arc::clone(&self.in_progress),
            })),
            Err(_) => {
                tracing::debug!(rpc.path = path, "call.shed");
                let status = errors::status(
                    Code::ResourceExhausted,
                    "server overloaded: too many calls in progress, retry later",
                    "OVERLOADED",
                );
                Err(status.into_http())
            }
        }
    }
}

/// One call's place under the limit, given back when dropped.
#[derive(Debug)]
pub(crate) struct CallPermit {
    in_progress: Arc<AtomicUsize>,
}

impl Drop for CallPermit {
    fn drop(&mut self) {
        self.in_progress.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use tonic::Status;

    use super::*;

    fn status_of(permits: &CallPermits, path: &str) -> Option<Status> {
        permits
            .admit::<tonic::body::Body>(path)
            .err()
            .and_then(|response| Status::from_header_map(response.headers()))
    }

    #[test]
    fn a_full_server_sheds_calls_but_not_health_or_reflection() {
        let full = CallPermits::new(0);
        let shed = status_of(&full, "/user.Users/ListUser").expect("shed");
        assert_eq!(shed.code(), Code::ResourceExhausted);
        for exempt in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(status_of(&full, exempt).is_none(), "{exempt}");
        }
    }

    #[test]
    fn a_permit_is_returned_when_dropped() {
        let one = CallPermits::new(1);
        let permit = one.admit::<tonic::body::Body>("/user.Users/ListUser");
        assert!(matches!(permit, Ok(Some(_))));
        assert!(status_of(&one, "/user.Users/ListUser").is_some());
        drop(permit);
        assert!(status_of(&one, "/user.Users/ListUser").is_none());
    }
}
