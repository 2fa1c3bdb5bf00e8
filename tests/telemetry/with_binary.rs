//! The real binary exporting over OTLP/gRPC: resource, logs, metrics, flush
//! on exit, and a collector that is down or refusing.

use crate::{
    Caller, list_user,
    process::{WAIT_BOUND, exit_code, resident_kib, send_signal, start, wait_for_log},
    receiver::{self, int_attribute, string_attribute},
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

#[tokio::test]
async fn rpc_server_duration_counts_every_call_by_method_and_code() {
    let (collector, received) = receiver::start_grpc(None).await;
    let endpoint = format!("http://{collector}");
    let mut running = start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
    ])
    .await;
    let mut client = users_client(&running).await;
    for id in [1, 2, 3] {
        client
            .list_user(list_user(id, "ok"))
            .await
            .expect("answered");
    }
    for _ in 0..2 {
        let refused = client.list_user(list_user(0, "zero")).await;
        assert_eq!(
            refused.map(|_| ()).map_err(|s| s.code()),
            Err(tonic::Code::NotFound)
        );
    }

    // Each (method, code) the calls ended with is one series counting its
    // calls, with otelgrpc's attributes; codes no call ended with export
    // nothing. (The start-up health probe has series of its own.)
    let counts = || {
        let mut counts: Vec<(String, String, String, i64, u64)> = received
            .latest_histogram("rpc.server.duration")
            .iter()
            .map(|point| {
                (
                    string_attribute(&point.attributes, "rpc.system").unwrap_or_default(),
                    string_attribute(&point.attributes, "rpc.service").unwrap_or_default(),
                    string_attribute(&point.attributes, "rpc.method").unwrap_or_default(),
                    int_attribute(&point.attributes, "rpc.grpc.status_code").unwrap_or(-1),
                    point.count,
                )
            })
            .filter(|(_, service, ..)| service == "user.Users")
            .collect();
        counts.sort();
        counts
    };
    let expected = vec![
        ("grpc".into(), "user.Users".into(), "ListUser".into(), 0, 3),
        ("grpc".into(), "user.Users".into(), "ListUser".into(), 5, 2),
    ];
    let arrived = received
        .wait_until(WAIT_BOUND, || counts() == expected)
        .await;
    assert!(arrived, "rpc.server.duration: {:?}", counts());

    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
}
