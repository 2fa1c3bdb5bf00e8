//! How a call gets its OpenTelemetry span. When the process exports traces,
//! every call's span is recorded by the SDK and exported. When it does not
//! (no OTLP endpoint), nothing could ever read a recorded span, so a call
//! gets only what is promised without an exporter: a trace id and a span id
//! for its log lines, its error details and the echoed `traceparent`, with
//! the sampling decision the configured sampler would have made.
use std::borrow::Cow;

use opentelemetry::{
    Context, KeyValue,
    trace::{Span, SpanContext, SpanKind, TraceContextExt, TraceFlags, TraceState, Tracer},
};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, SdkTracer, ShouldSample,
};

/// How this process traces calls.
#[derive(Debug, Clone)]
pub enum CallTracing {
    /// Spans are recorded and exported.
    Exported(SdkTracer),
    /// Nothing is exported: ids only, no recorded span.
    IdsOnly(Sampler),
}

impl CallTracing {
    /// The tracer, when spans are exported (store spans and spans of the
    /// service's own code exist only then).
    pub fn exported(&self) -> Option<&SdkTracer> {
        match self {
            Self::Exported(tracer) => Some(tracer),
            Self::IdsOnly(_) => None,
        }
    }

    /// A SERVER span named `name` under `parent`, in a new context.
    /// `attributes` are built only when the span is recorded.
    pub fn start_server_span(
        &self,
        name: Cow<'static, str>,
        parent: &Context,
        attributes: impl FnOnce() -> Vec<KeyValue>,
    ) -> Context {
        match self {
            Self::Exported(tracer) => {
                // Attributes are added once the sampler has decided: a call
                // it drops (90 % of them at 10 % sampling) builds none. The
                // samplers this service can be given do not read them.
                let mut span = tracer
                    .span_builder(name)
                    .with_kind(SpanKind::Server)
                    .start_with_context(tracer, parent);
                if span.is_recording() {
                    span.set_attributes(attributes());
                }
                parent.with_span(span)
            }
            Self::IdsOnly(sampler) => {
                parent.with_remote_span_context(ids_only(sampler, parent, &name))
            }
        }
    }
}

/// A span context that records nothing: the caller's trace (or a new one),
/// a new span id, and the sampled flag the sampler decides, so what the
/// answer's `traceparent` tells downstream matches an exporting process.
fn ids_only(sampler: &Sampler, parent: &Context, name: &str) -> SpanContext {
    let ids = RandomIdGenerator::default();
    let parent_span = parent.span();
    let caller = parent_span.span_context();
    let (trace_id, trace_state) = match caller.is_valid() {
        true => (caller.trace_id(), caller.trace_state().clone()),
        false => (ids.new_trace_id(), TraceState::default()),
    };
    let sampled = sampler
        .should_sample(Some(parent), trace_id, name, &SpanKind::Server, &[], &[])
        .decision
        == SamplingDecision::RecordAndSample;
    let flags = match sampled {
        true => TraceFlags::SAMPLED,
        false => TraceFlags::default(),
    };
    // Not remote: this is the call's own span, only unrecorded.
    SpanContext::new(trace_id, ids.new_span_id(), flags, false, trace_state)
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId};

    use super::*;

    fn caller(flags: TraceFlags) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("hex"),
            SpanId::from_hex("00f067aa0ba902b7").expect("hex"),
            flags,
            true,
            TraceState::default(),
        ))
    }

    fn start(sampler: Sampler, parent: &Context) -> SpanContext {
        let tracing = CallTracing::IdsOnly(sampler);
        let context =
            tracing.start_server_span(Cow::Borrowed("user.Users/ListUser"), parent, || {
                panic!("attributes are never built for an unrecorded span")
            });
        let span = context.span();
        assert!(!span.is_recording());
        span.span_context().clone()
    }

    #[test]
    fn without_an_exporter_a_call_joins_its_callers_trace_with_a_span_id_of_its_own() {
        let parent = caller(TraceFlags::SAMPLED);
        let ids = start(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)), &parent);
        assert_eq!(ids.trace_id(), parent.span().span_context().trace_id());
        assert_ne!(ids.span_id(), parent.span().span_context().span_id());
        assert!(ids.is_valid() && ids.is_sampled() && !ids.is_remote());
    }

    #[test]
    fn without_an_exporter_the_sampled_flag_is_the_samplers_decision() {
        let parent_based = || Sampler::ParentBased(Box::new(Sampler::AlwaysOn));
        assert!(!start(parent_based(), &caller(TraceFlags::default())).is_sampled());
        assert!(start(parent_based(), &Context::new()).is_sampled());
        assert!(!start(Sampler::AlwaysOff, &Context::new()).is_sampled());
    }

    #[test]
    fn without_a_caller_each_call_starts_a_new_trace() {
        let first = start(Sampler::AlwaysOn, &Context::new());
        let second = start(Sampler::AlwaysOn, &Context::new());
        assert!(first.is_valid() && second.is_valid());
        assert_ne!(first.trace_id(), second.trace_id());
    }
}
