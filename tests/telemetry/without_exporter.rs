//! The real binary with no OTLP endpoint: no span is recorded, yet every
//! call still has ids, which its answer (`traceparent`), its error details
//! and its log lines carry, with the sampled flag the sampler decides.
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    Caller, list_user,
    process::{Running, WAIT_BOUND, exit_code, send_signal, start, wait_for_log},
    users_client,
};

/// No health drain before stopping: nothing here watches health.
const QUICK_STOP: (&str, &str) = ("USER_SERVICE__SHUTDOWN__GRACE_PERIOD", "0s");

/// The parts of an echoed `traceparent`: trace id, span id, flags.
fn echoed(metadata: &tonic::metadata::MetadataMap) -> (String, String, String) {
    let value = metadata
        .get("traceparent")
        .expect("a traceparent is echoed")
        .to_str()
        .expect("ascii");
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    assert_eq!(parts[0], "00", "{value}");
    (
        parts[1].to_owned(),
        parts[2].to_owned(),
        parts[3].to_owned(),
    )
}

async fn stop(mut running: Running) {
    send_signal(&running.child, "TERM");
    assert_eq!(exit_code(&mut running.child, WAIT_BOUND).await, Some(0));
}

#[tokio::test]
async fn a_call_joins_its_callers_trace_and_its_log_line_names_the_same_ids() {
    let mut running = start(&[("RUST_LOG", "info,user_service=debug"), QUICK_STOP]).await;
    let caller = Caller::new();
    let response = users_client(&running)
        .await
        .list_user(caller.request(list_user(2, "unexported")))
        .await
        .expect("answered");
    let (trace_id, span_id, flags) = echoed(response.metadata());
    assert_eq!(trace_id, caller.trace_id);
    assert_eq!(span_id.len(), 16);
    assert_ne!(span_id, caller.span_id, "the call has a span id of its own");
    assert_eq!(flags, "01", "sampled, as the caller asked");

    let line = wait_for_log(&mut running.logs, "rpc.call").await;
    assert_eq!(line["trace_id"].as_str(), Some(trace_id.as_str()), "{line}");
    assert_eq!(line["span_id"].as_str(), Some(span_id.as_str()), "{line}");
    assert_eq!(line["rpc.service"].as_str(), Some("user.Users"), "{line}");
    assert_eq!(line["rpc.method"].as_str(), Some("ListUser"), "{line}");
    stop(running).await;
}

#[tokio::test]
async fn errors_carry_the_calls_trace_id_and_new_calls_start_new_traces() {
    let running = start(&[QUICK_STOP]).await;
    let mut users = users_client(&running).await;
    let status = users
        .list_user(tonic::Request::new(list_user(0, "unexported")))
        .await
        .expect_err("id 0 is refused");
    assert_eq!(status.code(), Code::NotFound);
    let (trace_id, _, flags) = echoed(status.metadata());
    assert_eq!(trace_id.len(), 32);
    assert_eq!(flags, "01", "the default sampler samples new traces");
    let request_info = status
        .get_error_details()
        .request_info()
        .cloned()
        .expect("RequestInfo");
    assert_eq!(request_info.request_id, trace_id);

    let again = users
        .list_user(tonic::Request::new(list_user(2, "unexported")))
        .await
        .expect("answered");
    assert_ne!(
        echoed(again.metadata()).0,
        trace_id,
        "each call a new trace"
    );
    stop(running).await;
}

#[tokio::test]
async fn the_sampled_flag_follows_the_caller_and_the_configured_sampler() {
    let running = start(&[QUICK_STOP]).await;
    let caller = Caller::new();
    let mut unsampled = tonic::Request::new(list_user(2, "unexported"));
    let traceparent = format!("00-{}-{}-00", caller.trace_id, caller.span_id);
    unsampled
        .metadata_mut()
        .insert("traceparent", traceparent.parse().expect("ascii"));
    let response = users_client(&running)
        .await
        .list_user(unsampled)
        .await
        .expect("answered");
    let (trace_id, _, flags) = echoed(response.metadata());
    assert_eq!(
        (trace_id.as_str(), flags.as_str()),
        (caller.trace_id.as_str(), "00")
    );
    stop(running).await;

    let running = start(&[("OTEL_TRACES_SAMPLER", "always_off"), QUICK_STOP]).await;
    let response = users_client(&running)
        .await
        .list_user(tonic::Request::new(list_user(2, "unexported")))
        .await
        .expect("answered");
    assert_eq!(echoed(response.metadata()).2, "00");
    stop(running).await;
}
