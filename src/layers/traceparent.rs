//! The `traceparent` (and `tracestate`) echoed in every traced answer.
use opentelemetry::{
    propagation::TextMapPropagator,
    trace::{SpanContext, TraceContextExt, TraceFlags, TraceState},
};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The W3C trace context header, prebuilt: a name given as text is parsed
/// again on every lookup.
pub(crate) const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
/// The W3C baggage header, prebuilt likewise.
pub(crate) const BAGGAGE: http::HeaderName = http::HeaderName::from_static("baggage");

/// Echoes the call's `traceparent` (and `tracestate`, when there is one).
/// The common case is formatted by hand: this runs on every traced call.
pub(crate) fn inject_traceparent(span_context: &SpanContext, headers: &mut http::HeaderMap) {
    if !span_context.is_valid() {
        return;
    }
    if *span_context.trace_state() != TraceState::NONE {
        let context = opentelemetry::Context::new().with_remote_span_context(span_context.clone());
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
        return;
    }
    let mut value = [0_u8; 55];
    value[..3].copy_from_slice(b"00-");
    hex_into(&span_context.trace_id().to_bytes(), &mut value[3..35]);
    value[35] = b'-';
    hex_into(&span_context.span_id().to_bytes(), &mut value[36..52]);
    value[52] = b'-';
    hex_into(
        &[(span_context.trace_flags() & TraceFlags::SAMPLED).to_u8()],
        &mut value[53..55],
    );
    if let Ok(mut value) = http::HeaderValue::from_bytes(&value) {
        // Unique to every answer: HPACK must not index it. Indexed, each one
        // evicts entries the connection's next answers could have reused,
        // and the encoder walks every earlier traceparent still in its table.
        value.set_sensitive(true);
        headers.insert(TRACEPARENT, value);
    }
}

/// Lower-case hex of `bytes` into `out` (twice as long).
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;

    fn propagator_output(span_context: &SpanContext) -> HashMap<String, String> {
        let context = opentelemetry::Context::new().with_remote_span_context(span_context.clone());
        let mut headers = HashMap::new();
        TraceContextPropagator::new().inject_context(&context, &mut headers);
        headers
    }

    #[test]
    fn traceparent_is_what_the_w3c_propagator_writes() {
        for flags in [
            TraceFlags::SAMPLED,
            TraceFlags::default(),
            TraceFlags::new(0xff),
        ] {
            let span_context = SpanContext::new(
                TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex"),
                SpanId::from_hex("b7ad6b7169203331").expect("hex"),
                flags,
                true,
                TraceState::NONE,
            );
            let mut headers = http::HeaderMap::new();
            inject_traceparent(&span_context, &mut headers);
            let ours = headers.get("traceparent").and_then(|v| v.to_str().ok());
            let theirs = propagator_output(&span_context);
            assert_eq!(ours, theirs.get("traceparent").map(String::as_str));
            assert!(headers.get("tracestate").is_none());
            let sent = headers.get("traceparent").expect("a traceparent");
            assert!(sent.is_sensitive(), "never indexed by HPACK");
        }
    }

    #[test]
    fn tracestate_goes_back_with_traceparent() {
        let span_context = SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").expect("hex"),
            SpanId::from_hex("b7ad6b7169203331").expect("hex"),
            TraceFlags::SAMPLED,
            true,
            "vendor=value".parse().expect("a trace state"),
        );
        let mut headers = http::HeaderMap::new();
        inject_traceparent(&span_context, &mut headers);
        assert_eq!(
            headers.get("tracestate").and_then(|v| v.to_str().ok()),
            Some("vendor=value")
        );
        assert!(headers.contains_key("traceparent"));
    }

    #[test]
    fn invalid_context_writes_nothing() {
        let mut headers = http::HeaderMap::new();
        inject_traceparent(&SpanContext::empty_context(), &mut headers);
        assert!(headers.is_empty());
    }
}
