//! Where `[telemetry]` settings and OTLP variables overlap, the variables
//! win, per-signal ones over generic ones.

use crate::{
    process::{WAIT_BOUND, exit_code, send_signal, start},
    receiver, traced_call,
};

#[tokio::test]
async fn variables_win_over_settings_and_per_signal_over_generic() {
    let (collector, received) = receiver::start_grpc(None).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let nowhere = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let endpoint = format!("http://{collector}");
    let mut running = start(&[
        ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s"),
        // Settings say HTTP to a dead port; the generic variable says gRPC
        // to another dead port; the per-signal ones name the receiver.
        ("USER_SERVICE__TELEMETRY__OTLP_ENDPOINT", &nowhere),
        ("USER_SERVICE__TELEMETRY__OTLP_PROTOCOL", "http/protobuf"),
        ("USER_SERVICE__TELEMETRY__METRICS_INTERVAL", "1h"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &nowhere),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &endpoint),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &endpoint),
        ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ])
    .await;
    let trace_id = traced_call(&running, 6, "precedence").await;
    received.wait_for_trace(&trace_id, WAIT_BOUND).await;
    let metrics = received
        .wait_until(WAIT_BOUND, || !received.metric_names().is_empty())
        .await;
    assert!(
        metrics,
        "metrics pushed at the variable's interval, not the setting's"
    );
    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
}
