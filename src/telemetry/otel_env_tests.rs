use super::*;
use crate::settings::{OtlpProtocol, Settings};

fn plan_with(
    settings: &TelemetrySettings,
    pairs: &[(&str, &str)],
) -> Result<Option<ExportPlan>, TelemetryError> {
    let env = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    resolve(settings, &env)
}

fn plan(pairs: &[(&str, &str)]) -> Result<Option<ExportPlan>, TelemetryError> {
    plan_with(&Settings::default().telemetry, pairs)
}

fn enabled(pairs: &[(&str, &str)]) -> ExportPlan {
    plan(pairs).expect("valid").expect("enabled")
}

fn rejected(pairs: &[(&str, &str)]) -> String {
    plan(pairs).expect_err("invalid").to_string()
}

#[test]
fn no_endpoint_means_no_exporter() {
    let plan = enabled(&[]);
    assert!(plan.traces.is_none() && plan.metrics.is_none());
    assert_eq!(plan.service_name, "user-service");
}

#[test]
fn sdk_disabled_turns_everything_off() {
    let env = [
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
    ];
    assert!(plan(&env).expect("valid").is_none());
}

#[test]
fn standard_variables_win_over_settings() {
    let mut settings = Settings::default().telemetry;
    settings.otlp_endpoint = "http://from-settings:4317".to_owned();
    settings.metrics_interval = Duration::from_secs(30);
    let plan = plan_with(
        &settings,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "users-eu"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
        ],
    )
    .expect("valid")
    .expect("enabled");
    let traces = plan.traces.expect("traces");
    assert_eq!(traces.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(traces.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(traces.timeout, Duration::from_millis(2500));
    let metrics = plan.metrics.expect("metrics");
    assert_eq!(metrics.endpoint, "http://collector:4318/v1/metrics");
    assert_eq!(plan.metrics_interval, Duration::from_millis(1500));
    assert_eq!(plan.service_name, "users-eu");
}

#[test]
fn settings_apply_where_no_variable_is_set() {
    let mut settings = Settings::default().telemetry;
    settings.otlp_endpoint = "http://from-settings:4318".to_owned();
    settings.otlp_protocol = OtlpProtocol::HttpProtobuf;
    let plan = plan_with(
        &settings,
        &[("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc")],
    )
    .expect("valid")
    .expect("enabled");
    let traces = plan.traces.expect("traces");
    assert_eq!(traces.endpoint, "http://from-settings:4318/v1/traces");
    assert_eq!(traces.timeout, settings.otlp_timeout);
    let metrics = plan.metrics.expect("metrics");
    assert_eq!(metrics.protocol, OtlpProtocol::Grpc);
    assert_eq!(metrics.endpoint, "http://from-settings:4318");
}

#[test]
fn a_per_signal_endpoint_alone_exports_that_signal_alone_used_as_given() {
    let plan = enabled(&[
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4318/custom"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ]);
    assert_eq!(
        plan.traces.expect("traces").endpoint,
        "http://t:4318/custom"
    );
    assert!(plan.metrics.is_none());
}

#[test]
fn per_signal_variables_win_over_generic_ones() {
    let plan = enabled(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://m:4318/v1/metrics",
        ),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=generic"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "Api-Key=a%2Cb%3Dc, x-tenant = t1",
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "4000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
    ]);
    let traces = plan.traces.expect("traces");
    let metrics = plan.metrics.expect("metrics");
    assert_eq!(traces.endpoint, "http://generic:4317");
    assert_eq!(traces.protocol, OtlpProtocol::Grpc);
    let headers: Vec<(&str, &str)> = traces
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect();
    assert_eq!(headers, [("api-key", "a,b=c"), ("x-tenant", "t1")]);
    assert_eq!(metrics.headers[0].1.expose(), "generic");
    assert_eq!(metrics.endpoint, "http://m:4318/v1/metrics");
    assert_eq!(traces.timeout, Duration::from_millis(4000));
    assert_eq!(metrics.timeout, Duration::from_millis(700));
    assert!(!traces.gzip && metrics.gzip);
    assert_eq!(traces.collector(), "http://generic:4317");
    assert_eq!(metrics.collector(), "http://m:4318");
}

#[test]
fn an_exporter_set_to_none_exports_nothing_for_its_signal() {
    let plan = enabled(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
    ]);
    assert!(plan.traces.is_none() && plan.metrics.is_some());
}

#[test]
fn insecure_gives_a_schemeless_grpc_endpoint_its_scheme() {
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")];
    assert_eq!(
        enabled(&env).traces.expect("t").endpoint,
        "https://collector:4317"
    );
    let env = [env[0], ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "TRUE")];
    let plan = enabled(&env);
    assert_eq!(plan.traces.expect("t").endpoint, "http://collector:4317");
    assert_eq!(plan.metrics.expect("m").endpoint, "https://collector:4317");
}

#[test]
fn export_timeouts_bound_each_export() {
    let plan = enabled(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "300"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "600"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
    ]);
    assert_eq!(plan.traces.expect("t").timeout, Duration::from_millis(300));
    assert_eq!(plan.metrics.expect("m").timeout, Duration::from_millis(600));
    let batch = SpanBatch {
        delay: Some(Duration::from_millis(100)),
        max_queue: Some(100),
        max_batch: Some(10),
    };
    assert_eq!(plan.batch, batch);
}

#[test]
fn invalid_values_are_rejected_by_name_without_printing_header_values() {
    let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317");
    let cases = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "udp"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://c"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "maybe"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "bad key=hunter2"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=hunter2%0A"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "1s"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "often"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "x"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "2"),
    ];
    for (name, value) in cases {
        let err = rejected(&[endpoint, (name, value)]);
        assert!(err.contains(name), "{name}={value}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    let err = rejected(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "c:4318"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ]);
    assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{err}");
}

#[test]
fn service_name_falls_back_to_resource_attributes() {
    let env = [(
        "OTEL_RESOURCE_ATTRIBUTES",
        "k8s.pod.name=p, service.name=from-attrs",
    )];
    assert_eq!(enabled(&env).service_name, "from-attrs");
}
