//! Wraps any store: each operation gets a CLIENT span (a child of the
//! call's span, with the stable database attributes and never a value),
//! its duration recorded, and a time bound past which it is UNAVAILABLE.
use std::{
    borrow::Cow,
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use opentelemetry::{
    Context, KeyValue,
    trace::{SpanKind, Status as SpanStatus, TraceContextExt, Tracer},
};
use opentelemetry_sdk::trace::SdkTracer;

use super::StoreMetrics;
use crate::directory::{
    Changes, ListQuery, Micros, NewUser, PoolUsage, SoftDelete, StoreError, StoreInfo, User,
    UserId, UserStore, Write,
};

/// A store with telemetry and a time bound.
#[derive(Debug)]
pub struct Instrumented {
    inner: Arc<dyn UserStore>,
    timeout: Duration,
    metrics: Option<StoreMetrics>,
    tracer: Option<SdkTracer>,
    /// The span attributes every operation shares, built once.
    attributes: Vec<KeyValue>,
}

impl Instrumented {
    /// Wraps `inner`: operations longer than `timeout` fail UNAVAILABLE.
    pub fn new(
        inner: Arc<dyn UserStore>,
        timeout: Duration,
        metrics: Option<StoreMetrics>,
    ) -> Self {
        let info = inner.info();
        let mut attributes = vec![
            KeyValue::new("db.system.name", info.system),
            KeyValue::new("db.collection.name", "users"),
            // Shared, so the copy each span takes is a reference count.
            KeyValue::new("db.namespace", Arc::<str>::from(info.namespace.as_str())),
        ];
        if let Some((address, port)) = &info.server {
            attributes.push(KeyValue::new("server.address", address.clone()));
            attributes.push(KeyValue::new("server.port", i64::from(*port)));
        }
        Self {
            inner,
            timeout,
            metrics,
            tracer: crate::telemetry::call_tracer(),
            attributes,
        }
    }

    async fn run<T>(
        &self,
        operation: &'static str,
        work: impl Future<Output = Result<T, StoreError>> + Send,
    ) -> Result<T, StoreError> {
        let span = self.start_span(operation);
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(anyhow::anyhow!(
                "the store did not answer within {}",
                humantime::format_duration(self.timeout)
            ))),
        };
        // Answers about the data (not found, taken) are not failures of
        // the operation; only the store's own failures carry error.type.
        let error = result
            .as_ref()
            .err()
            .filter(|err| err.is_store_failure())
            .map(StoreError::kind);
        if let Some(metrics) = &self.metrics {
            metrics.record(operation, started.elapsed().as_secs_f64(), error);
        }
        if let Some(context) = span {
            let span = context.span();
            if let Some(error) = error {
                span.set_attribute(KeyValue::new("error.type", error));
                span.set_status(SpanStatus::error(error));
            }
            span.end();
        }
        result
    }

    /// A span only inside a traced call: background work (health checks,
    /// the purge sweep) would otherwise start a trace every few seconds.
    fn start_span(&self, operation: &'static str) -> Option<Context> {
        let tracer = self.tracer.as_ref()?;
        let parent = Context::current();
        if !parent.has_active_span() {
            return None;
        }
        let mut attributes = self.attributes.clone();
        attributes.push(KeyValue::new("db.operation.name", operation));
        let span = tracer
            .span_builder(span_name(operation))
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        Some(parent.with_span(span))
    }
}

/// `{db.operation.name} {db.collection.name}`, without formatting per call.
fn span_name(operation: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(match operation {
        "SELECT" => "SELECT users",
        "INSERT" => "INSERT users",
        "UPDATE" => "UPDATE users",
        "DELETE" => "DELETE users",
        _ => "users",
    })
}

#[async_trait::async_trait]
impl UserStore for Instrumented {
    async fn create(&self, user: &NewUser) -> Result<(User, bool), StoreError> {
        self.run("INSERT", self.inner.create(user)).await
    }

    async fn check_create(&self, user: &NewUser) -> Result<Option<User>, StoreError> {
        self.run("SELECT", self.inner.check_create(user)).await
    }

    async fn get(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.run("SELECT", self.inner.get(id)).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<User>, StoreError> {
        self.run("SELECT", self.inner.list(query)).await
    }

    async fn update(&self, write: &Write<Changes>) -> Result<User, StoreError> {
        self.run("UPDATE", self.inner.update(write)).await
    }

    async fn delete(&self, write: &Write<SoftDelete>) -> Result<User, StoreError> {
        self.run("UPDATE", self.inner.delete(write)).await
    }

    async fn undelete(&self, write: &Write<()>) -> Result<User, StoreError> {
        self.run("UPDATE", self.inner.undelete(write)).await
    }

    async fn purge(&self, now: Micros, limit: u32) -> Result<u64, StoreError> {
        self.run("DELETE", self.inner.purge(now, limit)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        match tokio::time::timeout(self.timeout, self.inner.ping()).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable(anyhow::anyhow!("ping timed out"))),
        }
    }

    async fn shared_secret(&self) -> Result<Vec<u8>, StoreError> {
        self.run("SELECT", self.inner.shared_secret()).await
    }

    fn info(&self) -> &StoreInfo {
        self.inner.info()
    }

    fn pool_usage(&self) -> PoolUsage {
        self.inner.pool_usage()
    }
}
