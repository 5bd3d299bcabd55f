//! The fields of spans in text lines: as `tracing-subscriber` writes them, without the
//! OpenTelemetry attributes `#[monitor]` spans carry for traces (`code.*`, `otel.*`),
//! which repeat the span's name and location in every line and cost a formatted string
//! per span.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// Formats span and event fields like `DefaultFields`, leaving the trace-only ones out.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TextFields;

impl<'a> MakeVisitor<Writer<'a>> for TextFields {
    type Visitor = TextVisitor<'a>;
    fn make_visitor(&self, target: Writer<'a>) -> TextVisitor<'a> {
        TextVisitor(DefaultVisitor::new(target, true))
    }
}

pub(crate) struct TextVisitor<'a>(DefaultVisitor<'a>);

fn for_traces(field: &Field) -> bool {
    let name = field.name();
    name.starts_with("code.") || name.starts_with("otel.")
}

impl Visit for TextVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !for_traces(field) {
            self.0.record_str(field, value);
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if !for_traces(field) {
            self.0.record_i64(field, value);
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if !for_traces(field) {
            self.0.record_u64(field, value);
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if !for_traces(field) {
            self.0.record_bool(field, value);
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if !for_traces(field) {
            self.0.record_error(field, value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !for_traces(field) {
            self.0.record_debug(field, value);
        }
    }
}

impl VisitOutput<fmt::Result> for TextVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.0.finish()
    }
}

impl VisitFmt for TextVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        self.0.writer()
    }
}
