//! The real binary exporting over OTLP/gRPC: resource, logs, metrics, flush
//! on exit, and a collector that is down or refusing.

use crate::{
    Caller, list_user,
    process::{WAIT_BOUND, exit_code, resident_kib, send_signal, start, wait_for_log},
    receiver::{self, string_attribute},
    users_client,
};

#[tokio::test]
async fn the_binary_exports_spans_with_its_resource_and_logs_the_trace_id() {
    let (collector, received) = receiver::start_grpc(None).await;
    let endpoint = format!("http://{collector}");
    let mut running = start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_SERVICE_NAME", "users-under-test"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "k8s.pod.name=pod-7,k8s.namespace.name=ns",
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ("RUST_LOG", "info,user_service=debug"),
    ])
    .await;
    let caller = Caller::new();
    users_client(&running)
        .await
        .list_user(caller.request(list_user(2, "exported")))
        .await
        .expect("answered");

    let spans = received.wait_for_trace(&caller.trace_id, WAIT_BOUND).await;
    let resource = &spans[0].resource;
    assert_eq!(
        string_attribute(resource, "service.name").as_deref(),
        Some("users-under-test")
    );
    assert_eq!(
        string_attribute(resource, "k8s.pod.name").as_deref(),
        Some("pod-7")
    );
    assert_eq!(
        string_attribute(resource, "k8s.namespace.name").as_deref(),
        Some("ns")
    );

    let line = wait_for_log(&mut running.logs, "rpc.call").await;
    assert_eq!(
        line["trace_id"].as_str(),
        Some(caller.trace_id.as_str()),
        "{line}"
    );
    assert_eq!(line["span_id"].as_str().map(str::len), Some(16), "{line}");
    assert_eq!(line["rpc.method"].as_str(), Some("ListUser"), "{line}");
    assert_eq!(line["level"].as_str(), Some("DEBUG"), "{line}");

    let duration_exported = received
        .wait_until(WAIT_BOUND, || {
            received
                .metric_names()
                .iter()
                .any(|name| name == "rpc.server.duration")
        })
        .await;
    assert!(
        duration_exported,
        "rpc.server.duration reaches the collector"
    );

    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
}

#[tokio::test]
async fn spans_buffered_at_sigterm_are_flushed_before_exit() {
    let (collector, received) = receiver::start_grpc(None).await;
    let endpoint = format!("http://{collector}");
    let mut running = start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        // Far longer than the test: only the exit flush can send the span.
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
    ])
    .await;
    let caller = Caller::new();
    users_client(&running)
        .await
        .list_user(caller.request(list_user(9, "exported")))
        .await
        .expect("answered");
    assert!(received.spans_in_trace(&caller.trace_id).is_empty());

    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
    assert_eq!(received.spans_in_trace(&caller.trace_id).len(), 1);
}

/// 2,000 calls against a binary whose collector is `endpoint`: all succeed,
/// memory stays bounded, and exactly one warning is logged.
async fn calls_are_unaffected_by_a_broken_collector(endpoint: &str) {
    let mut running = start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
    ])
    .await;
    let mut users = users_client(&running).await;
    let mut failed = 0;
    let mut resident_after_warm_up = 0;
    for call in 0..2_000 {
        if call == 200 {
            resident_after_warm_up = resident_kib(&running.child);
        }
        let caller = Caller::new();
        if users
            .list_user(caller.request(list_user(call + 1, "exported")))
            .await
            .is_err()
        {
            failed += 1;
        }
    }
    assert_eq!(failed, 0, "no call fails because of the collector");
    let resident = resident_kib(&running.child);
    assert!(
        resident < resident_after_warm_up + 32 * 1024,
        "memory grew from {resident_after_warm_up} KiB to {resident} KiB"
    );

    wait_for_log(&mut running.logs, "telemetry.export_failed").await;
    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
    let mut warnings = 1;
    while let Ok(line) = running.logs.try_recv() {
        let message = line["message"].as_str().unwrap_or_default();
        if message.starts_with("telemetry.export_failed") {
            warnings += 1;
        }
    }
    assert_eq!(warnings, 1, "the warning is rate-limited");
}

#[tokio::test]
async fn a_collector_that_is_down_costs_no_call() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    calls_are_unaffected_by_a_broken_collector(&endpoint).await;
}

#[tokio::test]
async fn a_collector_answering_errors_costs_no_call() {
    let (collector, _received) = receiver::start_grpc(Some(tonic::Code::Unavailable)).await;
    calls_are_unaffected_by_a_broken_collector(&format!("http://{collector}")).await;
}
