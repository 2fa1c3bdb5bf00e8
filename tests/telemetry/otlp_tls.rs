//! The real binary exporting to collectors behind TLS: trusted through
//! `_CERTIFICATE`, showing `_CLIENT_CERTIFICATE`/`_CLIENT_KEY` to a collector
//! that demands one, over OTLP/gRPC and OTLP/HTTP.
use std::net::SocketAddr;

use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::{
    pki::Pki,
    process::{WAIT_BOUND, exit_code, send_signal, start, wait_for_log},
    receiver::{self, Received},
    receiver_http, traced_call,
};

/// An OTLP/gRPC receiver behind TLS with the test PKI's server certificate;
/// with `mutual`, it also demands a client certificate from the test CA.
async fn start_grpc_tls(pki: &Pki, mutual: bool) -> (SocketAddr, Received) {
    let identity = Identity::from_pem(&pki.server.cert_pem, &pki.server.key_pem);
    let mut tls = ServerTlsConfig::new().identity(identity);
    if mutual {
        tls = tls.client_ca_root(Certificate::from_pem(&pki.ca_pem));
    }
    let builder = Server::builder().tls_config(tls).expect("TLS config");
    let received = Received::new(None);
    (
        receiver::serve_grpc(builder, received.clone()).await,
        received,
    )
}

async fn wait_for_metrics(received: &Received) -> bool {
    received
        .wait_until(WAIT_BOUND, || !received.metric_names().is_empty())
        .await
}

fn path(file: &std::path::Path) -> String {
    file.display().to_string()
}

#[tokio::test]
async fn mutual_tls_to_collectors_over_grpc_and_http() {
    let pki = Pki::generate();
    let (traces_at, traces) = start_grpc_tls(&pki, true).await;
    let (metrics_at, metrics) = receiver_http::start_https_in_background(&pki, true);
    let traces_endpoint = format!("https://127.0.0.1:{}", traces_at.port());
    let metrics_endpoint = format!("https://127.0.0.1:{}", metrics_at.port());
    let (ca, cert, key) = (
        path(&pki.ca_file),
        path(&pki.client.cert_file),
        path(&pki.client.key_file),
    );
    let mut running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces_endpoint),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &ca),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", &cert),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", &key),
        // Generic for metrics: /v1/metrics is appended.
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &metrics_endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", &ca),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", &cert),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", &key),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
    ])
    .await;
    let trace_id = traced_call(&running, 5, "tls").await;
    traces.wait_for_trace(&trace_id, WAIT_BOUND).await;
    assert!(wait_for_metrics(&metrics).await, "metrics arrive over mTLS");
    assert!(
        !metrics
            .header_values("/v1/metrics", "content-type")
            .is_empty()
    );
    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
    while let Ok(line) = running.logs.try_recv() {
        let message = line["message"].as_str().unwrap_or_default();
        assert!(!message.starts_with("telemetry.export_failed"), "{line}");
    }
}

#[tokio::test]
async fn a_collector_ca_trusted_by_file_and_a_client_certificate_required_but_missing() {
    let pki = Pki::generate();
    let (traces_at, traces) = start_grpc_tls(&pki, false).await;
    let (metrics_at, metrics) = receiver_http::start_https_in_background(&pki, true);
    let traces_endpoint = format!("https://127.0.0.1:{}", traces_at.port());
    let metrics_endpoint = format!("https://127.0.0.1:{}/v1/metrics", metrics_at.port());
    let ca = path(&pki.ca_file);
    let mut running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces_endpoint),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &metrics_endpoint),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
    ])
    .await;
    let trace_id = traced_call(&running, 5, "tls").await;
    traces.wait_for_trace(&trace_id, WAIT_BOUND).await;
    // The HTTPS collector refuses a client without a certificate.
    let failed = wait_for_log(&mut running.logs, "telemetry.export_failed").await;
    assert_eq!(failed["signal"].as_str(), Some("metrics"), "{failed}");
    assert!(metrics.metric_names().is_empty());
    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
}

#[tokio::test]
async fn the_generic_client_certificate_and_key_serve_every_signal() {
    let pki = Pki::generate();
    let (collector_at, collector) = start_grpc_tls(&pki, true).await;
    let endpoint = format!("https://127.0.0.1:{}", collector_at.port());
    let mut running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", &path(&pki.ca_file)),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            &path(&pki.client.cert_file),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &path(&pki.client.key_file)),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
    ])
    .await;
    // The collector demands a client certificate: anything that arrives
    // was sent with the generic pair.
    let trace_id = traced_call(&running, 6, "tls").await;
    collector.wait_for_trace(&trace_id, WAIT_BOUND).await;
    assert!(
        wait_for_metrics(&collector).await,
        "metrics arrive over mTLS"
    );
    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
}
