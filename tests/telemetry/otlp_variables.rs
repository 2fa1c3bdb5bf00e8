//! The real binary configured by the standard OTLP exporter variables:
//! per-signal targets, headers, gzip, exporters turned off, and invalid
//! values refused at start-up.
use std::process::Stdio;

use crate::{
    process::{Running, WAIT_BOUND, command, exit_code, send_signal, start},
    receiver::{self, Received, TRACES_PATH},
    receiver_http, traced_call,
};

async fn wait_for_metric(received: &Received) {
    let arrived = received
        .wait_until(WAIT_BOUND, || {
            received
                .metric_names()
                .iter()
                .any(|name| name == "rpc.server.duration")
        })
        .await;
    assert!(arrived, "rpc.server.duration reaches its collector");
}

/// Stops the binary; what it had buffered is flushed before it exits.
async fn stop(mut running: Running) -> Vec<String> {
    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
    let mut lines = Vec::new();
    while let Ok(line) = running.logs.try_recv() {
        lines.push(line.to_string());
    }
    lines
}

#[tokio::test]
async fn per_signal_targets_get_their_own_protocol_headers_and_gzip() {
    let (traces_at, traces) = receiver::start_grpc(None).await;
    let (metrics_at, metrics) = receiver_http::start_http_in_background();
    let traces_endpoint = format!("http://{traces_at}");
    // Used as given: nothing is appended to a per-signal endpoint.
    let metrics_endpoint = format!("http://{metrics_at}/collector/metrics");
    let running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces_endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &metrics_endpoint),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=tr%3Dace%2Cs3kr1t"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            "X-Api-Key=m3tr1c-s3kr1t",
        ),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "4000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "4000"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "5000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "5000"),
        ("RUST_LOG", "debug"),
    ])
    .await;
    let trace_id = traced_call(&running, 3, "otlp").await;
    traces.wait_for_trace(&trace_id, WAIT_BOUND).await;
    assert_eq!(
        traces.header_values(TRACES_PATH, "x-api-key")[0],
        "tr=ace,s3kr1t"
    );
    assert_eq!(
        traces.header_values(TRACES_PATH, "grpc-encoding")[0],
        "gzip"
    );
    assert!(traces.metric_names().is_empty(), "metrics went elsewhere");

    wait_for_metric(&metrics).await;
    let path = "/collector/metrics";
    assert_eq!(metrics.header_values(path, "x-api-key")[0], "m3tr1c-s3kr1t");
    assert_eq!(metrics.header_values(path, "content-encoding")[0], "gzip");
    assert_eq!(metrics.span_count(), 0, "spans went elsewhere");

    for line in stop(running).await {
        assert!(
            !line.contains("s3kr1t"),
            "a header value was logged: {line}"
        );
    }
}

#[tokio::test]
async fn the_traces_headers_compression_and_insecure_variables_win_over_the_generic_ones() {
    let (collector, received) = receiver::start_grpc(None).await;
    // No scheme: the traces' own _INSECURE makes it plain http.
    let endpoint = collector.to_string();
    let running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "true"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=generic"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "x-api-key=tr4ces-s3kr1t",
        ),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    let trace_id = traced_call(&running, 3, "otlp").await;
    received.wait_for_trace(&trace_id, WAIT_BOUND).await;
    assert_eq!(
        received.header_values(TRACES_PATH, "x-api-key"),
        vec!["tr4ces-s3kr1t".to_owned()]
    );
    assert_eq!(
        received.header_values(TRACES_PATH, "grpc-encoding")[0],
        "gzip"
    );
    for line in stop(running).await {
        assert!(
            !line.contains("s3kr1t"),
            "a header value was logged: {line}"
        );
    }
}

#[tokio::test]
async fn the_sampler_argument_is_the_ratio_of_calls_exported() {
    let (collector, received) = receiver::start_grpc(None).await;
    let endpoint = format!("http://{collector}");
    let running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    for id in 1..=5 {
        traced_call(&running, id, "unsampled").await;
    }
    // Metrics prove the exporter works; the exit flush sends any span left.
    wait_for_metric(&received).await;
    stop(running).await;
    assert_eq!(received.span_count(), 0, "a ratio of 0 exports no call");
}

#[tokio::test]
async fn traces_set_to_none_leave_metrics_exported_and_calls_traced_by_id() {
    let (collector, received) = receiver::start_grpc(None).await;
    // No scheme: OTEL_EXPORTER_OTLP_INSECURE makes it plain http.
    let endpoint = collector.to_string();
    let running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
    ])
    .await;
    traced_call(&running, 3, "otlp").await;
    wait_for_metric(&received).await;
    stop(running).await;
    assert_eq!(received.span_count(), 0, "no span after the exit flush");
}

#[tokio::test]
async fn metrics_set_to_none_leave_traces_exported_over_http_at_v1_traces() {
    let (collector, received) = receiver_http::start_http_in_background();
    let endpoint = format!("http://{collector}/");
    let running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    let trace_id = traced_call(&running, 3, "otlp").await;
    received.wait_for_trace(&trace_id, WAIT_BOUND).await;
    assert!(
        !received
            .header_values("/v1/traces", "content-type")
            .is_empty()
    );
    stop(running).await;
    assert!(
        received.metric_names().is_empty(),
        "no metric after the exit flush"
    );
    assert!(
        received
            .header_values("/v1/metrics", "content-type")
            .is_empty()
    );
}

#[tokio::test]
async fn a_full_batch_is_exported_without_waiting_for_the_schedule_delay() {
    let (collector, received) = receiver::start_grpc(None).await;
    let endpoint = format!("http://{collector}");
    let running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_METRICS_EXPORTER", "none"),
        // Far longer than the test: only a full batch can send spans.
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "8"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2"),
    ])
    .await;
    let first = traced_call(&running, 3, "otlp").await;
    let second = traced_call(&running, 3, "otlp").await;
    received.wait_for_trace(&second, WAIT_BOUND).await;
    assert_eq!(received.spans_in_trace(&first).len(), 1);
    let exports = received.header_values(TRACES_PATH, "content-type");
    assert_eq!(exports.len(), 1, "one export of both spans");
    stop(running).await;
}

#[tokio::test]
async fn invalid_variables_stop_start_up_with_exit_78_naming_the_variable() {
    let cases = [
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=hunter2%0A"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
            "/nonexistent/ca.pem",
        ),
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
    ];
    for (name, value) in cases {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            (name, value),
        ];
        let child = command(&["--addr", "127.0.0.1:0"], &env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let output = tokio::time::timeout(WAIT_BOUND, child.wait_with_output())
            .await
            .expect("exits within the bound")
            .expect("output");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(78), "{name}={value}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}
