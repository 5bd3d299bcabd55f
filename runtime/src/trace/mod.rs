//! Spans of monitored calls, and what connects them to metrics (exemplars).
//!
//! `#[monitor]` opens a [`tracing`] span around every call, so any subscriber sees it.
//! The span is created through a static callsite: while no subscriber is interested in
//! it, creating, entering and closing it costs one atomic load and a few branches.
//!
//! A span carries the OpenTelemetry code attributes (`code.function`, `code.namespace`,
//! `code.filepath`, `code.lineno`). A call that returns `Err` (or that `error_if`/`ok_if`
//! classifies as an error) sets `otel.status_code = "ERROR"`, `error.type` and
//! `otel.status_description`, and emits an `exception` event with `exception.type` and
//! `exception.message`; a panic does the same with `exception.type = "panic"`.

// Public items for generated code only, reached through `__private`.
pub(crate) mod guard;

pub use crate::span_ids::CORRELATION_FIELD;
use crate::span_ids::{hex, ids_of};

/// The trace id of the current span, as 32 lowercase hex digits, when the OpenTelemetry
/// layer is installed (feature `otlp`) and the span belongs to a valid trace.
pub fn current_trace_id() -> Option<String> {
    ids_of(&tracing::Span::current()).map(|(trace, _, _)| hex(&trace))
}

/// The span id of the current span, as 16 lowercase hex digits (see [`current_trace_id`]).
pub fn current_span_id() -> Option<String> {
    ids_of(&tracing::Span::current()).map(|(_, span, _)| hex(&span))
}
