//! Server spans: parentage, otelgrpc attributes, status rules, exclusions.
use std::{collections::HashMap, sync::OnceLock, time::Duration};

use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use user_service::{
    proto::UserRequest,
    settings::OtlpProtocol,
    telemetry::{self, TelemetryGuard},
};

use crate::{
    Caller,
    helpers::{PANIC_ID, TestApp, spawn_app, test_settings},
    receiver::{Received, ReceivedSpan, hex, int_attribute, string_attribute},
    receiver_http, trace_id_of,
};

const EXPORT_BOUND: Duration = Duration::from_secs(15);

pub(crate) struct Harness {
    pub(crate) received: Received,
    pub(crate) guard: TelemetryGuard,
}

/// Telemetry for this whole test binary, exporting over OTLP/HTTP to a
/// receiver that outlives every test.
pub(crate) fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let (addr, received) = receiver_http::start_http_in_background();
        let mut settings = test_settings();
        settings.telemetry.otlp_endpoint = format!("http://{addr}");
        settings.telemetry.otlp_protocol = OtlpProtocol::HttpProtobuf;
        settings.log.level = "warn".to_owned();
        // Built outside any test's runtime: it must outlive them all.
        let guard = std::thread::spawn(move || telemetry::init(&settings, &HashMap::new()))
            .join()
            .expect("init thread")
            .expect("telemetry initialises");
        Harness { received, guard }
    })
}

pub(crate) async fn spans_of(caller: &Caller) -> Vec<ReceivedSpan> {
    let harness = harness();
    harness.guard.force_flush();
    harness
        .received
        .wait_for_trace(&caller.trace_id, EXPORT_BOUND)
        .await
}

async fn traced_app() -> TestApp {
    harness();
    spawn_app().await
}

fn request(id: i32) -> UserRequest {
    UserRequest {
        id,
        name: "traced".to_owned(),
    }
}

fn the_only_span(spans: Vec<ReceivedSpan>) -> ReceivedSpan {
    assert_eq!(spans.len(), 1, "exactly one span per call: {spans:#?}");
    spans.into_iter().next().expect("one span")
}

#[tokio::test]
async fn a_call_yields_one_server_span_in_the_callers_trace_with_otelgrpc_attributes() {
    let app = traced_app().await;
    let caller = Caller::new();
    let response = app
        .users()
        .list_user(caller.request(request(2)))
        .await
        .expect("answered");
    assert_eq!(
        trace_id_of(response.metadata()),
        Some(caller.trace_id.clone())
    );

    let ReceivedSpan { resource, span } = the_only_span(spans_of(&caller).await);
    assert_eq!(span.name, "user.Users/ListUser");
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&span.parent_span_id), caller.span_id);
    let attrs = &span.attributes;
    assert_eq!(
        string_attribute(attrs, "rpc.system").as_deref(),
        Some("grpc")
    );
    assert_eq!(
        string_attribute(attrs, "rpc.service").as_deref(),
        Some("user.Users")
    );
    assert_eq!(
        string_attribute(attrs, "rpc.method").as_deref(),
        Some("ListUser")
    );
    assert_eq!(int_attribute(attrs, "rpc.grpc.status_code"), Some(0));
    assert_eq!(
        string_attribute(attrs, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        int_attribute(attrs, "server.port"),
        Some(i64::from(app.addr.port()))
    );
    assert_eq!(
        string_attribute(attrs, "network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(int_attribute(attrs, "network.peer.port").is_some_and(|port| port > 0));
    let status = span.status.map(|s| s.code).unwrap_or_default();
    assert_eq!(status, StatusCode::Unset as i32);

    assert_eq!(
        string_attribute(&resource, "service.name").as_deref(),
        Some("user-service")
    );
    assert_eq!(
        string_attribute(&resource, "service.version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert!(string_attribute(&resource, "service.instance.id").is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn not_found_is_recorded_as_code_5_without_marking_the_span_as_error() {
    let app = traced_app().await;
    let caller = Caller::new();
    let status = app
        .users()
        .list_user(caller.request(request(0)))
        .await
        .expect_err("id 0 is refused");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(
        trace_id_of(status.metadata()),
        Some(caller.trace_id.clone())
    );
    let request_info = tonic_types::StatusExt::get_details_request_info(&status)
        .expect("RequestInfo carries the trace id");
    assert_eq!(request_info.request_id, caller.trace_id);

    let span = the_only_span(spans_of(&caller).await).span;
    assert_eq!(
        int_attribute(&span.attributes, "rpc.grpc.status_code"),
        Some(5)
    );
    let status = span.status.map(|s| s.code).unwrap_or_default();
    assert_eq!(status, StatusCode::Unset as i32);
}

#[tokio::test]
async fn a_panic_is_recorded_as_code_13_an_error_status_and_an_exception_event() {
    let app = traced_app().await;
    let caller = Caller::new();
    let status = app
        .users()
        .list_user(caller.request(request(PANIC_ID)))
        .await
        .expect_err("the handler panics");
    assert_eq!(status.code(), Code::Internal);

    let span = the_only_span(spans_of(&caller).await).span;
    assert_eq!(
        int_attribute(&span.attributes, "rpc.grpc.status_code"),
        Some(13)
    );
    let status = span.status.expect("a status");
    assert_eq!(status.code, StatusCode::Error as i32);
    let exception = span
        .events
        .iter()
        .find(|event| event.name == "exception")
        .expect("an exception event");
    assert_eq!(
        string_attribute(&exception.attributes, "exception.message").as_deref(),
        Some("handler bug")
    );
    // The error line logged for it is on the span too, with its fields.
    let logged = span
        .events
        .iter()
        .find(|event| event.name == "call panicked; answered INTERNAL")
        .expect("the error line as an event");
    assert_eq!(
        string_attribute(&logged.attributes, "level").as_deref(),
        Some("ERROR")
    );
    assert_eq!(
        string_attribute(&logged.attributes, "rpc.path").as_deref(),
        Some("/user.Users/ListUser")
    );
}

#[tokio::test]
async fn health_calls_are_not_traced_by_default() {
    let app = traced_app().await;
    let health_caller = Caller::new();
    let mut health = app.health();
    let check = HealthCheckRequest {
        service: String::new(),
    };
    health
        .check(health_caller.request(check))
        .await
        .expect("health answers");

    // A traced call after it: once its span has arrived, the health span
    // would have arrived too, had there been one.
    let caller = Caller::new();
    app.users()
        .list_user(caller.request(request(3)))
        .await
        .expect("answered");
    spans_of(&caller).await;
    assert!(
        harness()
            .received
            .spans_in_trace(&health_caller.trace_id)
            .is_empty()
    );
}

#[tokio::test]
async fn a_call_without_a_valid_traceparent_starts_a_new_trace() {
    let app = traced_app().await;
    let mut request = tonic::Request::new(request(4));
    request
        .metadata_mut()
        .insert("traceparent", "00-not-a-trace-01".parse().expect("ascii"));
    let response = app.users().list_user(request).await.expect("answered");
    let trace_id = trace_id_of(response.metadata()).expect("a new trace id is echoed");
    assert_eq!(trace_id.len(), 32);
    let caller = Caller {
        trace_id,
        span_id: String::new(),
    };
    let span = the_only_span(spans_of(&caller).await).span;
    assert!(span.parent_span_id.is_empty(), "a root span");
}

/// Tracing must not make every disabled h2 trace event pay a callsite check:
/// with telemetry on and an app built, the process-wide maximum level is
/// still the configured log level (warn here; OpenTelemetry needs warn too).
#[tokio::test]
async fn the_process_wide_level_stays_the_log_level() {
    let _app = traced_app().await;
    assert_eq!(
        tracing::level_filters::LevelFilter::current(),
        tracing::level_filters::LevelFilter::WARN
    );
}
