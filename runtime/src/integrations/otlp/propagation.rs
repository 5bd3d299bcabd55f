//! Context propagation over HTTP headers: W3C `traceparent`/`tracestate` and `baggage`,
//! Zipkin B3 (single `b3` header and multi `X-B3-*` headers), plus a correlation-id
//! header (`X-Correlation-ID`, or `LOG_CORRELATION_ID_HEADER`) carried as baggage.
//!
//! Servers [`extract`] the caller's context from request headers and make it the parent
//! of their request span; clients [`inject`] the current span into outgoing headers. The
//! formats are `OTEL_PROPAGATORS` (default `tracecontext,baggage`) or
//! `ObservabilityBuilder::propagators`.
//!
//! ```
//! use flext_observability::propagation::{self, Propagator};
//! use flext_observability::Propagation;
//!
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert(
//!     "traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap(),
//! );
//! let parent = Propagator::new(&[Propagation::TraceContext]).extract(&incoming);
//! assert_eq!(parent.trace_id().as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
//! assert!(parent.is_sampled());
//!
//! // Forward it as B3.
//! let mut outgoing = http::HeaderMap::new();
//! Propagator::new(&[Propagation::B3Single]).inject_context(&parent, &mut outgoing);
//! assert_eq!(outgoing["b3"], "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1");
//! # let _ = propagation::extract(&incoming);
//! ```

use std::sync::{Arc, PoisonError, RwLock};

use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_propagator_b3::{B3Encoding, Propagator as B3Propagator};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use super::config::Propagation;

/// Baggage key that carries the correlation id.
pub const CORRELATION_BAGGAGE_KEY: &str = "correlation_id";

static INSTALLED: RwLock<Option<Arc<Propagator>>> = RwLock::new(None);

/// Propagation formats in order. Extracting, the first trace format (W3C trace
/// context, B3) that finds a valid context in the headers wins, and the baggage is kept
/// whichever format carried the trace; injecting writes every format.
///
/// Headers are checked strictly before use: a malformed `traceparent` or B3 header, or
/// one sent twice, counts as absent (the caller's trace is not continued); `tracestate`
/// and `baggage` sent in several headers are combined, as the W3C specifications
/// require.
pub struct Propagator {
    /// Every format, for injection.
    inner: TextMapCompositePropagator,
    /// The trace formats, in order, for extraction.
    trace: Vec<Box<dyn TextMapPropagator + Send + Sync>>,
    baggage: Option<BaggagePropagator>,
    formats: Vec<Propagation>,
}

impl std::fmt::Debug for Propagator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Propagator").field(&self.formats).finish()
    }
}

impl Propagator {
    /// A propagator for these formats (an empty list propagates nothing).
    pub fn new(formats: &[Propagation]) -> Propagator {
        let make = |f: &Propagation| -> Box<dyn TextMapPropagator + Send + Sync> {
            match f {
                Propagation::TraceContext => Box::new(TraceContextPropagator::new()),
                Propagation::Baggage => Box::new(BaggagePropagator::new()),
                Propagation::B3Single => {
                    Box::new(B3Propagator::with_encoding(B3Encoding::SingleHeader))
                }
                Propagation::B3Multi => {
                    Box::new(B3Propagator::with_encoding(B3Encoding::MultipleHeader))
                }
            }
        };
        Propagator {
            inner: TextMapCompositePropagator::new(formats.iter().map(make).collect()),
            trace: formats
                .iter()
                .filter(|f| **f != Propagation::Baggage)
                .map(make)
                .collect(),
            baggage: formats
                .contains(&Propagation::Baggage)
                .then(BaggagePropagator::new),
            formats: formats.to_vec(),
        }
    }

    /// The formats, in order.
    pub fn formats(&self) -> &[Propagation] {
        &self.formats
    }

    /// The caller's context from request headers (invalid when there is none).
    pub fn extract(&self, headers: &http::HeaderMap) -> RemoteContext {
        super::context::caller_seen();
        let carrier = Headers::new(headers);
        // The composite propagator of OpenTelemetry lets the last format win; ours is
        // "first valid wins", in the configured order. A fresh context, not the
        // thread's current one: only what the headers carry.
        let empty = opentelemetry::Context::new();
        let mut cx = self
            .trace
            .iter()
            .map(|p| p.extract_with_context(&empty, &carrier))
            .find(|cx| cx.span().span_context().is_valid())
            .unwrap_or_else(opentelemetry::Context::new);
        if let Some(baggage) = &self.baggage {
            cx = baggage.extract_with_context(&cx, &carrier);
        }
        let header = correlation_header();
        if cx.baggage().get(CORRELATION_BAGGAGE_KEY).is_none()
            && let Some(id) = headers.get(&header).and_then(|v| v.to_str().ok())
            && !id.is_empty()
        {
            // `with_baggage` replaces the baggage: keep what the headers carried.
            let mut entries: Vec<opentelemetry::KeyValue> = cx
                .baggage()
                .iter()
                .map(|(k, (v, _))| opentelemetry::KeyValue::new(k.clone(), v.as_str().to_owned()))
                .collect();
            entries.push(opentelemetry::KeyValue::new(
                CORRELATION_BAGGAGE_KEY,
                id.to_owned(),
            ));
            cx = cx.with_baggage(entries);
        }
        RemoteContext { cx }
    }

    /// Writes `span`'s context (trace, baggage, correlation id) into outgoing headers.
    /// Nothing is written for a span without a valid trace.
    pub fn inject(&self, span: &tracing::Span, headers: &mut http::HeaderMap) {
        let cx = span
            .with_subscriber(|(id, dispatch)| {
                super::context::otel_context(super::context::registry(dispatch)?, id)
            })
            .flatten();
        if let Some(cx) = cx {
            self.inject_cx(&cx, headers);
        }
    }

    /// Writes an extracted context into outgoing headers (forwarding it unchanged).
    pub fn inject_context(&self, context: &RemoteContext, headers: &mut http::HeaderMap) {
        self.inject_cx(&context.cx, headers);
    }

    fn inject_cx(&self, cx: &opentelemetry::Context, headers: &mut http::HeaderMap) {
        self.inner.inject_context(cx, &mut HeadersMut(headers));
        if let Some(id) = cx.baggage().get(CORRELATION_BAGGAGE_KEY)
            && let Ok(value) = http::HeaderValue::from_str(id.as_str())
        {
            headers.insert(correlation_header(), value);
        }
    }
}

/// A context received from a caller. It holds no OpenTelemetry type in the public API.
#[derive(Clone, Debug)]
pub struct RemoteContext {
    cx: opentelemetry::Context,
}

impl RemoteContext {
    /// Whether the headers carried a valid trace.
    pub fn is_valid(&self) -> bool {
        self.cx.span().span_context().is_valid()
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> Option<String> {
        super::context::ids_of_context(&self.cx).map(|(t, _)| crate::span_ids::hex(&t))
    }

    /// The caller's span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> Option<String> {
        super::context::ids_of_context(&self.cx).map(|(_, s)| crate::span_ids::hex(&s))
    }

    /// Whether the caller sampled the trace.
    pub fn is_sampled(&self) -> bool {
        self.cx.span().span_context().is_sampled()
    }

    /// A baggage entry.
    pub fn baggage(&self, key: &str) -> Option<String> {
        super::context::baggage_value(&self.cx, key)
    }

    /// The correlation id (its header, or the `correlation_id` baggage entry).
    pub fn correlation_id(&self) -> Option<String> {
        self.baggage(CORRELATION_BAGGAGE_KEY)
    }

    /// Makes this context the parent of `span` (call it before the span is first
    /// entered): the span continues the caller's trace, follows its sampling decision
    /// (parent-based samplers) and carries its baggage. Returns `false` when the span is
    /// disabled (no layer records it: with traces not exported, one below `LOG_LEVEL`),
    /// or when `install()`'s subscriber is not the global one or OpenTelemetry is off.
    pub fn set_parent_of(&self, span: &tracing::Span) -> bool {
        span.with_subscriber(|(id, dispatch)| {
            super::context::registry(dispatch)
                .is_some_and(|r| super::context::set_remote_parent(r, id, &self.cx))
        })
        .unwrap_or(false)
    }
}

/// Installs the formats used by [`extract`] and [`inject`].
pub(crate) fn configure(formats: &[Propagation]) {
    let propagator = Arc::new(Propagator::new(formats));
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = Some(propagator);
    let global = Propagator::new(formats);
    opentelemetry::global::set_text_map_propagator(global.inner);
}

fn correlation_header() -> http::HeaderName {
    // `install()` checked the name; the default otherwise.
    http::HeaderName::from_bytes(crate::span_ids::correlation_header().as_bytes())
        .unwrap_or_else(|_| http::HeaderName::from_static("x-correlation-id"))
}

fn installed() -> Arc<Propagator> {
    INSTALLED
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_else(|| {
            Arc::new(Propagator::new(&[
                Propagation::TraceContext,
                Propagation::Baggage,
            ]))
        })
}

/// The caller's context from request headers, with the installed formats.
pub fn extract(headers: &http::HeaderMap) -> RemoteContext {
    installed().extract(headers)
}

/// Writes the current span's context into outgoing headers, with the installed formats.
pub fn inject(headers: &mut http::HeaderMap) {
    installed().inject(&tracing::Span::current(), headers);
}

/// Request headers as the propagators read them: trace headers checked strictly (a
/// malformed or repeated one reads as absent), list headers sent several times joined.
struct Headers<'a> {
    map: &'a http::HeaderMap,
    tracestate: Option<String>,
    baggage: Option<String>,
}

impl<'a> Headers<'a> {
    fn new(map: &'a http::HeaderMap) -> Self {
        Headers {
            map,
            tracestate: joined(map, "tracestate"),
            baggage: joined(map, "baggage"),
        }
    }

    /// The only value of `key`: `None` when absent, sent more than once, or not text.
    fn single(&self, key: &str) -> Option<&'a str> {
        let mut values = self.map.get_all(key).iter();
        let first = values.next()?;
        if values.next().is_some() {
            return None;
        }
        first.to_str().ok().map(str::trim)
    }
}

/// All values of a list header, joined with `,` (RFC 9110 §5.3).
fn joined(map: &http::HeaderMap, key: &str) -> Option<String> {
    let values: Vec<&str> = map
        .get_all(key)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "tracestate" => self.tracestate.as_deref(),
            "baggage" => self.baggage.as_deref(),
            "traceparent" => self.single(&key).filter(|v| valid_traceparent(v)),
            "b3" => self.single(&key).filter(|v| valid_b3_single(v)),
            "x-b3-traceid" => self.single(&key).filter(|v| b3_trace_id(v)),
            "x-b3-spanid" | "x-b3-parentspanid" => self.single(&key).filter(|v| span_id(v)),
            "x-b3-sampled" => self
                .single(&key)
                .filter(|v| matches!(*v, "0" | "1" | "true" | "false")),
            "x-b3-flags" => self.single(&key).filter(|v| *v == "1"),
            _ => self.map.get(&key).and_then(|v| v.to_str().ok()),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.map.keys().map(http::HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .map
            .get_all(key)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// `len` lowercase hex digits, not all zero (an all-zero id is invalid in W3C and B3).
fn hex_id(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && s.bytes().any(|b| b != b'0')
}

fn span_id(s: &str) -> bool {
    hex_id(s, 16)
}

fn b3_trace_id(s: &str) -> bool {
    hex_id(s, 16) || hex_id(s, 32)
}

/// W3C `traceparent`: `version-traceid-parentid-flags`, 2-32-16-2 lowercase hex digits;
/// version `ff` is invalid, version `00` is exactly 55 characters, later versions may
/// append `-` and more fields.
pub(crate) fn valid_traceparent(v: &str) -> bool {
    let b = v.as_bytes();
    let lower_hex = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    };
    if b.len() < 55 || !lower_hex(0..2) || &b[0..2] == b"ff" {
        return false;
    }
    if (&b[0..2] == b"00" && b.len() != 55) || (b.len() > 55 && b[55] != b'-') {
        return false;
    }
    b[2] == b'-'
        && b[35] == b'-'
        && b[52] == b'-'
        && lower_hex(53..55)
        && v.get(3..35).is_some_and(|t| hex_id(t, 32))
        && v.get(36..52).is_some_and(span_id)
}

/// The single `b3` header: `traceid-spanid[-sampled[-parentspanid]]`, or a sampling
/// decision alone (`0`, `1`, `d`).
pub(crate) fn valid_b3_single(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    match parts.as_slice() {
        [sampled] => matches!(*sampled, "0" | "1" | "d"),
        [trace, span, rest @ ..] if rest.len() <= 2 => {
            b3_trace_id(trace)
                && span_id(span)
                && rest.first().is_none_or(|s| matches!(*s, "0" | "1" | "d"))
                && rest.get(1).is_none_or(|p| span_id(p))
        }
        _ => false,
    }
}

struct HeadersMut<'a>(&'a mut http::HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.to_ascii_lowercase().as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_checked_strictly() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(valid_traceparent(ok));
        assert!(valid_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
        ));
        for bad in [
            "00-1-2-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "",
        ] {
            assert!(!valid_traceparent(bad), "{bad}");
        }
    }

    #[test]
    fn b3_is_checked_strictly() {
        for ok in [
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1",
            "a3ce929d0e0e4736-e457b5a2e4d86bd1-d",
            "0",
        ] {
            assert!(valid_b3_single(ok), "{ok}");
        }
        for bad in [
            "+0f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
            "80f198ee56343ba864fe8b2a57d3eff7-+457b5a2e4d86bd1",
            "80f198ee-e457b5a2e4d86bd1",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-x",
            "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-x",
            "true",
        ] {
            assert!(!valid_b3_single(bad), "{bad}");
        }
    }
}
