//! The gRPC side of the in-process OTLP receivers: the trace and metric
//! services on an ephemeral loopback port, plain or with a given TLS.
use std::net::SocketAddr;

use opentelemetry_proto::tonic::collector::{
    metrics::v1::{
        ExportMetricsServiceRequest, ExportMetricsServiceResponse,
        metrics_service_server::{MetricsService, MetricsServiceServer},
    },
    trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status, codec::CompressionEncoding::Gzip};

use crate::receiver::Received;

/// Where OTLP/gRPC exports arrive, as an HTTP/2 path.
pub(crate) const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// Where OTLP/gRPC metric exports arrive.
pub(crate) const METRICS_PATH: &str =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.answer().await?;
        self.add_request(TRACES_PATH, request.metadata().clone().into_headers());
        self.add_traces(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Received {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.answer().await?;
        self.add_request(METRICS_PATH, request.metadata().clone().into_headers());
        self.add_metrics(request.into_inner());
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

/// An OTLP/gRPC receiver on an ephemeral loopback port, running on the
/// current runtime; `failing` makes it refuse every export.
pub(crate) async fn start_grpc(failing: Option<tonic::Code>) -> (SocketAddr, Received) {
    let received = Received::new(failing);
    let addr = serve_grpc(tonic::transport::Server::builder(), received.clone()).await;
    (addr, received)
}

/// An OTLP/gRPC receiver for `received` on an ephemeral loopback port,
/// served by `builder` (plain, or with TLS) on the current runtime.
pub(crate) async fn serve_grpc(
    mut builder: tonic::transport::Server,
    received: Received,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = builder
        .add_service(TraceServiceServer::new(received.clone()).accept_compressed(Gzip))
        .add_service(MetricsServiceServer::new(received.clone()).accept_compressed(Gzip))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    addr
}
