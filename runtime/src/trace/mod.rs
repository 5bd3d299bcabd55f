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

mod exemplar;
// Public items for generated code only, reached through `__private`.
pub(crate) mod guard;

#[allow(unused_imports)] // `set_trace_ids` is used by the `otlp` feature
pub(crate) use exemplar::{Exemplar, Exemplars, set_trace_ids};

/// The trace id of the current span, as 32 lowercase hex digits, when the OpenTelemetry
/// layer is installed (feature `otlp`) and the span belongs to a valid trace.
pub fn current_trace_id() -> Option<String> {
    exemplar::ids_of(&tracing::Span::current()).map(|(trace, _, _)| hex(&trace))
}

/// The span id of the current span, as 16 lowercase hex digits (see [`current_trace_id`]).
pub fn current_span_id() -> Option<String> {
    exemplar::ids_of(&tracing::Span::current()).map(|(_, span, _)| hex(&span))
}

/// Wall-clock time in nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Span field that carries a correlation id into log lines (see the `logs` module).
pub const CORRELATION_FIELD: &str = "correlation_id";
