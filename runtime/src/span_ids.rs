//! Trace and span ids of `tracing` spans, for the parts of the core that show them
//! (exemplars, log lines, the status page) without depending on OpenTelemetry: an
//! integration that knows the ids (feature `otlp`) installs the lookups, once per
//! process. Until then every lookup answers `None` at the cost of one atomic load. A
//! lookup may give a span its ids on the spot: ask only when the ids will be shown.

use std::sync::{OnceLock, PoisonError, RwLock};

use tracing::Span;

/// (trace id, span id, sampled) of a span.
pub(crate) type SpanIds = ([u8; 16], [u8; 8], bool);

/// Looks up the ids of a live span.
pub(crate) type IdsOfSpan = fn(&Span) -> Option<SpanIds>;

/// Receives what a log line shows of a span: its trace and span ids, and a correlation
/// id carried by the trace's context (baggage), borrowed for the call.
#[cfg(feature = "logs")]
pub(crate) type LogLine<'a> = &'a mut dyn FnMut(Option<([u8; 16], [u8; 8])>, Option<&str>);

/// Hands what a log line shows of a span of the registry to a [`LogLine`].
#[cfg(feature = "logs")]
pub(crate) type LogContextOf =
    fn(&tracing_subscriber::registry::SpanRef<'_, tracing_subscriber::Registry>, LogLine<'_>);

static IDS_OF_SPAN: OnceLock<IdsOfSpan> = OnceLock::new();
#[cfg(feature = "logs")]
static LOG_CONTEXT_OF: OnceLock<LogContextOf> = OnceLock::new();

/// Installs the lookups (the first installation stays). Called only when the layer that
/// knows the ids is part of the global subscriber.
#[cfg(feature = "otlp")]
pub(crate) fn install(ids: IdsOfSpan, log_context: LogContextOf) {
    let _ = IDS_OF_SPAN.set(ids);
    let _ = LOG_CONTEXT_OF.set(log_context);
}

/// The lookup, when installed: callers that offer exemplars check once and skip the
/// clock work when there is none.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn lookup() -> Option<IdsOfSpan> {
    IDS_OF_SPAN.get().copied()
}

/// The ids of `span`, if it is enabled and belongs to a valid trace.
pub(crate) fn ids_of(span: &Span) -> Option<SpanIds> {
    if span.is_disabled() {
        return None;
    }
    (IDS_OF_SPAN.get()?)(span)
}

/// See [`LogContextOf`]; `false` (and `line` not called) when no lookup is installed.
#[cfg(feature = "logs")]
pub(crate) fn log_context_of(
    span: &tracing_subscriber::registry::SpanRef<'_, tracing_subscriber::Registry>,
    line: LogLine<'_>,
) -> bool {
    match LOG_CONTEXT_OF.get() {
        Some(lookup) => {
            lookup(span, line);
            true
        }
        None => false,
    }
}

/// Appends the lowercase hex digits of an id.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
}

/// Lowercase hex digits of an id.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Span field that carries a correlation id into log lines (see the `logs` module).
pub const CORRELATION_FIELD: &str = "correlation_id";

/// The request header that carries a correlation id (`LOG_CORRELATION_ID_HEADER`,
/// lowercase), set by `install()`.
static CORRELATION_HEADER: RwLock<Option<String>> = RwLock::new(None);

/// The default correlation header.
pub(crate) const DEFAULT_CORRELATION_HEADER: &str = "x-correlation-id";

/// Sets the correlation header (`install()` checked it is a header name).
pub(crate) fn set_correlation_header(name: &str) {
    *CORRELATION_HEADER
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(name.to_ascii_lowercase());
}

/// The correlation header, lowercase.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn correlation_header() -> String {
    CORRELATION_HEADER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_else(|| DEFAULT_CORRELATION_HEADER.to_owned())
}

/// Whether `name` is an HTTP header name (an RFC 9110 token).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
