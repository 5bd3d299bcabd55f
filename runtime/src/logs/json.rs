//! The JSON log layer: one object per event, written into buffers reused per thread,
//! with the event's span, its trace and span ids and the correlation id read in place.
//! A line allocates nothing once its thread has written one line of that size.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber as _};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, Registry, SpanRef};

use super::stack::Wants;
use super::writer::LogWriter;
use crate::span_ids::CORRELATION_FIELD;

/// What the JSON layer wants: events and spans from the log level up, plus every span
/// that declares a `correlation_id` field, so its id reaches the lines of events inside
/// it whatever the span's own level.
pub(crate) struct JsonWants(pub(crate) Targets);

impl Wants for JsonWants {
    fn span(&self, meta: &Metadata<'_>) -> bool {
        self.0.would_enable(meta.target(), meta.level())
            || meta.fields().field(CORRELATION_FIELD).is_some()
    }
    fn event(&self, meta: &Metadata<'_>) -> bool {
        self.0.would_enable(meta.target(), meta.level())
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        // A span with a `correlation_id` field is wanted at any level: a hint of the log
        // level would make `tracing` skip those below it before asking.
        None
    }
}

/// The `correlation_id` field of a span, kept in its extensions.
struct CorrelationId(String);

/// Writes one JSON object per event.
pub(crate) struct JsonLayer {
    writer: LogWriter,
    /// The subscriber this layer is part of (the event's span is looked up in its
    /// registry, past the spans this layer's filter leaves out). Held strongly: the
    /// subscriber is the global one and lives as long as the process.
    dispatch: OnceLock<tracing::Dispatch>,
}

impl JsonLayer {
    pub(crate) fn new(writer: LogWriter) -> Self {
        JsonLayer {
            writer,
            dispatch: OnceLock::new(),
        }
    }
}

struct CorrelationVisitor(Option<String>);

impl Visit for CorrelationVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == CORRELATION_FIELD {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == CORRELATION_FIELD {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// Writes what it is given escaped for the inside of a JSON string.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        crate::json::escape(self.0, s);
        Ok(())
    }
}

/// The buffers of a line, reused by each thread.
#[derive(Default)]
struct Scratch {
    line: String,
    message: String,
    fields: String,
    /// The timestamp up to its second (`2026-11-23T10:00:00.`), and that second.
    second_text: String,
    second: u64,
}

/// Appends the RFC 3339 timestamp of now, with microseconds; the part up to the second
/// is formatted once per second.
fn push_timestamp(line: &mut String, second_text: &mut String, second: &mut u64) {
    let now = std::time::SystemTime::now();
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    if since.as_secs() != *second || second_text.is_empty() {
        second_text.clear();
        crate::json::rfc3339_micros_to(
            second_text,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(since.as_secs()),
        );
        // `….000000Z` → `….`
        second_text.truncate(second_text.len() - 7);
        *second = since.as_secs();
    }
    line.push_str(second_text);
    let micros = since.subsec_micros();
    let mut digits = [b'0'; 6];
    let mut rest = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
    }
    line.push_str(std::str::from_utf8(&digits).unwrap_or("000000"));
    line.push('Z');
}

/// Buffers above this size are dropped after use rather than kept for the thread.
const KEEP: usize = 64 << 10;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Event fields: the message (escaped, without quotes) and the other fields as JSON
/// members.
struct JsonFields<'a> {
    message: &'a mut String,
    fields: &'a mut String,
}

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        if !self.fields.is_empty() {
            self.fields.push(',');
        }
        crate::json::string(self.fields, field.name());
        self.fields.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            crate::json::escape(self.message, value);
        } else {
            self.key(field);
            crate::json::string(self.fields, value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(Escaped(self.message), "{value:?}");
        } else {
            self.key(field);
            self.fields.push('"');
            let _ = write!(Escaped(self.fields), "{value:?}");
            self.fields.push('"');
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        self.fields.push_str(itoa::Buffer::new().format(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        self.fields.push_str(itoa::Buffer::new().format(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.fields.push_str(if value { "true" } else { "false" });
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.fields, "{value}");
        } else {
            self.fields.push('"');
            let _ = write!(self.fields, "{value}");
            self.fields.push('"');
        }
    }
}

/// `,"correlation_id":…` from the nearest span with that field, else from the trace's
/// baggage.
fn push_correlation(line: &mut String, span: &SpanRef<'_, Registry>, baggage: Option<&str>) {
    for s in span.scope() {
        if let Some(c) = s.extensions().get::<CorrelationId>() {
            line.push_str(",\"correlation_id\":");
            crate::json::string(line, &c.0);
            return;
        }
    }
    if let Some(c) = baggage {
        line.push_str(",\"correlation_id\":");
        crate::json::string(line, c);
    }
}

impl JsonLayer {
    fn write_event(&self, event: &Event<'_>, scratch: &mut Scratch) {
        let Scratch {
            line,
            message,
            fields,
            second_text,
            second,
        } = scratch;
        line.clear();
        message.clear();
        fields.clear();
        event.record(&mut JsonFields { message, fields });
        let meta = event.metadata();
        line.push_str("{\"timestamp\":\"");
        push_timestamp(line, second_text, second);
        line.push_str("\",\"level\":\"");
        line.push_str(meta.level().as_str());
        line.push_str("\",\"target\":");
        crate::json::string(line, meta.target());
        line.push_str(",\"message\":\"");
        line.push_str(message);
        line.push('"');
        if !fields.is_empty() {
            line.push_str(",\"fields\":{");
            line.push_str(fields);
            line.push('}');
        }
        if let Some(dispatch) = self.dispatch.get() {
            push_span(line, event, dispatch);
        }
        line.push_str("}\n");
        self.writer.write_line(line.as_bytes());
    }
}

/// The event's span as the subscriber sees it, through the registry: the layer's
/// context would skip the spans this layer's filter left out (a `debug` span under
/// `LOG_LEVEL=info`) and report their parent's name and ids instead of the ones the
/// trace shows.
fn push_span(line: &mut String, event: &Event<'_>, dispatch: &tracing::Dispatch) {
    let Some(registry) = dispatch.downcast_ref::<Registry>() else {
        return;
    };
    let id = match event.parent() {
        Some(parent) => parent.clone(),
        None if event.is_contextual() => match registry.current_span().id() {
            Some(id) => id.clone(),
            None => return,
        },
        None => return,
    };
    let Some(span) = registry.span(&id) else {
        return;
    };
    line.push_str(",\"span\":");
    crate::json::string(line, span.name());
    let looked_up = crate::span_ids::log_context_of(&span, &mut |ids, baggage| {
        if let Some((trace_id, span_id)) = ids {
            line.push_str(",\"trace_id\":\"");
            crate::span_ids::push_hex(line, &trace_id);
            line.push_str("\",\"span_id\":\"");
            crate::span_ids::push_hex(line, &span_id);
            line.push('"');
        }
        push_correlation(line, &span, baggage);
    });
    if !looked_up {
        push_correlation(line, &span, None);
    }
}

impl<S> Layer<S> for JsonLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.clone());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.fields().field(CORRELATION_FIELD).is_none() {
            return;
        }
        let mut visitor = CorrelationVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(value), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(CorrelationId(value));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        match span.fields().field(CORRELATION_FIELD) {
            Some(field) if values.contains(&field) => {}
            _ => return,
        }
        let mut visitor = CorrelationVisitor(None);
        values.record(&mut visitor);
        if let Some(value) = visitor.0 {
            let mut ext = span.extensions_mut();
            ext.remove::<CorrelationId>();
            ext.insert(CorrelationId(value));
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let _ = SCRATCH.try_with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                self.write_event(event, &mut scratch);
                if scratch.line.capacity() > KEEP {
                    *scratch = Scratch::default();
                }
            }
            // A field's `Debug` logged while its line was being written.
            Err(_) => self.write_event(event, &mut Scratch::default()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_their_second_once() {
        let (mut line, mut text, mut second) = (String::new(), String::new(), 0);
        push_timestamp(&mut line, &mut text, &mut second);
        assert_eq!(line.len(), "2026-11-23T10:00:00.123456Z".len(), "{line}");
        assert!(line.ends_with('Z') && line.as_bytes()[19] == b'.', "{line}");
        let mut reference = String::new();
        crate::json::rfc3339_micros_to(
            &mut reference,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(second),
        );
        assert_eq!(line[..20], reference[..20]);
        // The cached second is only reused within that second.
        text.replace_range(..4, "1999");
        second -= 1;
        line.clear();
        push_timestamp(&mut line, &mut text, &mut second);
        assert!(line.starts_with("20"), "{line}");
    }

    #[test]
    fn escaping_keeps_plain_runs_and_escapes_the_rest() {
        let mut out = String::new();
        crate::json::escape(&mut out, "plain \"q\" \\ é\n\u{1}\u{2028}end");
        assert_eq!(out, r#"plain \"q\" \\ é\n\u0001\u2028end"#);
        let mut out = String::new();
        let _ = write!(Escaped(&mut out), "{:?}", "a\"b");
        assert_eq!(out, r#"\"a\\\"b\""#);
    }
}
