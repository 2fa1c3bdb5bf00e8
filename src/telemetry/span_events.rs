//! Warnings and errors logged while a call is served become events on the
//! OpenTelemetry span current at that moment (the call's, or one the
//! service's own code opened inside it), so a trace shows what went wrong
//! where it happened.
use std::borrow::Cow;

use opentelemetry::{Key, KeyValue, trace::TraceContextExt};
use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    Layer,
    filter::{LevelFilter, filter_fn},
    layer::Context,
};

use super::logs::BoxedLayer;

/// The layer, seeing warnings and errors only, and none of OpenTelemetry's
/// own: the SDK warns from inside `Span::end` (a full batch queue) while it
/// holds that span's lock, and recording the warning on the current span,
/// often that very one, would wait for the lock forever.
pub(crate) fn layer() -> BoxedLayer {
    let filter = filter_fn(|metadata| {
        *metadata.level() <= Level::WARN && !metadata.target().starts_with("opentelemetry")
    })
    .with_max_level_hint(LevelFilter::WARN);
    SpanEvents.with_filter(filter).boxed()
}

struct SpanEvents;

impl<S: Subscriber> Layer<S> for SpanEvents {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let context = opentelemetry::Context::current();
        let span = context.span();
        if !span.is_recording() {
            return;
        }
        let metadata = event.metadata();
        let mut fields = EventFields {
            name: None,
            attributes: vec![
                KeyValue::new("level", metadata.level().as_str()),
                KeyValue::new("target", metadata.target()),
            ],
        };
        event.record(&mut fields);
        let name = fields.name.unwrap_or(Cow::Borrowed(metadata.name()));
        span.add_event(name, fields.attributes);
    }
}

/// An event's message (its name on the span) and its other fields.
struct EventFields {
    name: Option<Cow<'static, str>>,
    attributes: Vec<KeyValue>,
}

impl EventFields {
    fn push(&mut self, field: &Field, value: impl Into<opentelemetry::Value>) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.name = Some(Cow::Owned(value.to_owned()));
        } else {
            self.push(field, value.to_owned());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        // OpenTelemetry integers are signed; larger values keep their digits.
        match i64::try_from(value) {
            Ok(value) => self.push(field, value),
            Err(_) => self.push(field, value.to_string()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.name = Some(Cow::Owned(text));
        } else {
            self.push(field, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::mpsc, time::Duration};

    use opentelemetry::trace::{Tracer, TracerProvider as _};
    use opentelemetry_sdk::{
        error::OTelSdkResult,
        trace::{InMemorySpanExporter, SdkTracerProvider, SpanData, SpanProcessor},
    };
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Warns from `on_end`, as the batch processor does when its queue is full.
    #[derive(Debug)]
    struct WarnsOnEnd;

    impl SpanProcessor for WarnsOnEnd {
        fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}

        fn on_end(&self, _: SpanData) {
            tracing::warn!(target: "opentelemetry_sdk", "queue full");
        }

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn the_sdks_own_warnings_while_ending_the_current_span_do_not_deadlock() {
        let (done, ended) = mpsc::channel();
        std::thread::spawn(move || {
            let provider = SdkTracerProvider::builder()
                .with_span_processor(WarnsOnEnd)
                .build();
            let tracer = provider.tracer("test");
            let subscriber = tracing_subscriber::registry().with(layer());
            tracing::subscriber::with_default(subscriber, || {
                let context = opentelemetry::Context::new().with_span(tracer.start("call"));
                let _current = context.clone().attach();
                context.span().end();
            });
            let _ = done.send(());
        });
        assert!(
            ended.recv_timeout(Duration::from_secs(10)).is_ok(),
            "ending the span hung"
        );
    }

    #[test]
    fn warnings_inside_a_span_become_its_events_and_quieter_lines_do_not() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("test");
        let subscriber = tracing_subscriber::registry().with(layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!("outside any span");
            tracer.in_span("call", |_| {
                tracing::info!("not a warning");
                tracing::warn!(attempt = 3_u64, cause = %"refused", "backend.retry");
                tracing::error!(fatal = true, "backend.down");
            });
        });
        let spans = exporter.get_finished_spans().expect("spans");
        let [span] = spans.as_slice() else {
            panic!("one span, got {}", spans.len());
        };
        let names: Vec<&str> = span.events.iter().map(|e| e.name.as_ref()).collect();
        assert_eq!(names, ["backend.retry", "backend.down"]);
        let retry = &span.events.events[0].attributes;
        assert!(retry.contains(&KeyValue::new("attempt", 3_i64)));
        assert!(retry.contains(&KeyValue::new("cause", "refused")));
        assert!(retry.contains(&KeyValue::new("level", "WARN")));
    }
}
