//! The floor for "every call traced and exported", for benchmarks: the bare
//! tonic server plus the least a traced call can cost — one OpenTelemetry SDK
//! SERVER span per call (name, kind, the rpc.* attributes, status code), batched
//! and exported over OTLP/gRPC. No `tracing`, no propagation, no metrics, no
//! limits. The gap between this and `bare_tonic_server` is the price of 100 %
//! export on the server's own core, whoever writes the service.
//!
//! With `--connection-attributes` each span also carries the four connection
//! attributes user-service's spans carry (`server.address`, `server.port`,
//! `network.peer.address`, `network.peer.port`), built by the service's own
//! `layers::connection_attributes`: the SDK's own price of the span as
//! user-service promises it.
//!
//! usage: export_floor_server ADDR OTLP_ENDPOINT [--connection-attributes]
//!        (e.g. 127.0.0.1:50062 http://127.0.0.1:4317)
use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use opentelemetry::{
    KeyValue,
    trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _},
};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider};
use tonic::{Request, Response, Status, transport::Server};
use tower::{Layer, Service};
use user_service::{
    layers::connection_attributes,
    proto::{
        Detail, UserRequest, UserResponse,
        users_server::{Users, UsersServer},
    },
};

struct Bare;

#[tonic::async_trait]
impl Users for Bare {
    async fn list_user(
        &self,
        request: Request<UserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let request = request.into_inner();
        if request.id == 0 {
            return Err(Status::not_found("Sorry, id is not allowed 0"));
        }
        let detail = Detail {
            id: request.id,
            value: request.name,
        };
        Ok(Response::new(UserResponse {
            details: vec![detail.clone(), detail],
        }))
    }
}

#[derive(Clone)]
struct SpanLayer {
    tracer: SdkTracer,
    add_connection_attributes: bool,
}

impl<S> Layer<S> for SpanLayer {
    type Service = SpanService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        SpanService {
            inner,
            tracer: self.tracer.clone(),
            add_connection_attributes: self.add_connection_attributes,
        }
    }
}

#[derive(Clone)]
struct SpanService<S> {
    inner: S,
    tracer: SdkTracer,
    add_connection_attributes: bool,
}

impl<S, B, R> Service<http::Request<B>> for SpanService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let mut attributes = Vec::with_capacity(7);
        attributes.extend([
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", "user.Users"),
            KeyValue::new("rpc.method", "ListUser"),
        ]);
        if self.add_connection_attributes {
            connection_attributes(request.extensions(), &mut attributes);
        }
        let mut span = self
            .tracer
            .span_builder("user.Users/ListUser")
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start(&self.tracer);
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await;
            span.set_attribute(KeyValue::new("rpc.grpc.status_code", 0_i64));
            span.end();
            response
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A process without a `tracing` dispatcher falls back to the `log` crate
    // at every h2 and hyper span (sqlx turns on tracing's `log` feature for
    // the whole build): about 13,600 instructions per call. Every real server
    // sets a subscriber; this one sets the one that records nothing.
    tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default())?;
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .ok_or("usage: export_floor_server ADDR OTLP_ENDPOINT")?
        .parse()?;
    let endpoint = args
        .next()
        .ok_or("usage: export_floor_server ADDR OTLP_ENDPOINT")?;
    let add_connection_attributes = match args.next().as_deref() {
        None => false,
        Some("--connection-attributes") => true,
        Some(other) => return Err(format!("unknown argument {other}").into()),
    };
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .build();
    let tracer = provider.tracer("export-floor");
    Server::builder()
        .layer(SpanLayer {
            tracer,
            add_connection_attributes,
        })
        .add_service(UsersServer::new(Bare))
        .serve(addr)
        .await?;
    provider.shutdown()?;
    Ok(())
}
