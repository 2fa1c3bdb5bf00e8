//! A live OTLP/gRPC receiver: accepts traces and metrics, decodes them,
//! counts spans, and prints the count on SIGTERM/SIGINT. Used by the
//! benchmarks (as the collector) and the compose test (standing in for Jaeger).
//!
//! usage: otlp_sink [ADDR] [--print-spans] [--delay-ms N]   (default ADDR 127.0.0.1:4317)
//!        otlp_sink --probe ADDR             exit 0 when ADDR accepts a connection
//!
//! `--delay-ms N` (or `OTLP_SINK_DELAY_MS=N`; the flag wins) answers every export
//! only after N milliseconds: a slow collector, for the reliability scenarios.
//!
//! `--print-spans` writes one JSON line per received span to stdout:
//! `{"service.name": …, "name": …, "trace_id": hex, "span_id": hex, "parent_span_id": hex}`.
use std::{
    io::Write,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use opentelemetry_proto::tonic::{
    collector::{
        metrics::v1::{
            ExportMetricsServiceRequest, ExportMetricsServiceResponse,
            metrics_service_server::{MetricsService, MetricsServiceServer},
        },
        trace::v1::{
            ExportTraceServiceRequest, ExportTraceServiceResponse,
            trace_service_server::{TraceService, TraceServiceServer},
        },
    },
    common::v1::any_value::Value,
    trace::v1::ResourceSpans,
};
use tonic::{Request, Response, Status, transport::Server};

#[derive(Clone, Default)]
struct Sink {
    spans: Arc<AtomicU64>,
    print_spans: bool,
    delay: Duration,
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        tokio::time::sleep(self.delay).await;
        let request = request.into_inner();
        let spans: usize = request
            .resource_spans
            .iter()
            .flat_map(|r| r.scope_spans.iter())
            .map(|s| s.spans.len())
            .sum();
        self.spans.fetch_add(spans as u64, Ordering::Relaxed);
        if self.print_spans {
            print_spans(&request.resource_spans);
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        _request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        tokio::time::sleep(self.delay).await;
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn print_spans(resource_spans: &[ResourceSpans]) {
    let mut out = std::io::stdout().lock();
    for resource_span in resource_spans {
        let service_name = resource_span
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .and_then(|v| match v {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            });
        for span in resource_span.scope_spans.iter().flat_map(|s| &s.spans) {
            let line = serde_json::json!({
                "service.name": service_name,
                "name": span.name,
                "trace_id": hex(&span.trace_id),
                "span_id": hex(&span.span_id),
                "parent_span_id": hex(&span.parent_span_id),
            });
            // A closed stdout only loses the record; the receiver keeps answering.
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = out.flush();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `--probe ADDR`: a health check for images without a shell.
async fn probe(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await??;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--probe") {
        let addr = args.get(1).ok_or("--probe needs an address")?;
        return probe(addr).await;
    }
    let print_spans = args.iter().any(|a| a == "--print-spans");
    let delay_flag = args.iter().position(|a| a == "--delay-ms").map(|i| {
        args.get(i + 1)
            .map(String::as_str)
            .ok_or("--delay-ms needs a number")
    });
    let delay_ms = match delay_flag.transpose()? {
        Some(ms) => ms.to_owned(),
        None => std::env::var("OTLP_SINK_DELAY_MS").unwrap_or_else(|_| "0".to_owned()),
    };
    let delay = Duration::from_millis(delay_ms.parse().map_err(|_| "--delay-ms needs a number")?);
    // The value after `--delay-ms` is not an address.
    let addr = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--delay-ms"))
        .map_or("127.0.0.1:4317", |(_, a)| a.as_str())
        .parse()?;
    let sink = Sink {
        print_spans,
        delay,
        ..Sink::default()
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    Server::builder()
        .add_service(TraceServiceServer::new(sink.clone()))
        .add_service(MetricsServiceServer::new(sink.clone()))
        .serve_with_shutdown(addr, stop)
        .await?;
    println!("spans_received {}", sink.spans.load(Ordering::Relaxed));
    Ok(())
}
