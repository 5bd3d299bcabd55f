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

pub use crate::otlp::Propagation;

/// Baggage key that carries the correlation id.
pub const CORRELATION_BAGGAGE_KEY: &str = "correlation_id";

static INSTALLED: RwLock<Option<Arc<Propagator>>> = RwLock::new(None);
static CORRELATION_HEADER: RwLock<Option<http::HeaderName>> = RwLock::new(None);

/// Propagation formats in order; the first that finds a context in the headers wins
/// for the trace, and baggage from every format is kept.
pub struct Propagator {
    inner: TextMapCompositePropagator,
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
        let inner = formats
            .iter()
            .map(|f| -> Box<dyn TextMapPropagator + Send + Sync> {
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
            })
            .collect();
        Propagator {
            inner: TextMapCompositePropagator::new(inner),
            formats: formats.to_vec(),
        }
    }

    /// The formats, in order.
    pub fn formats(&self) -> &[Propagation] {
        &self.formats
    }

    /// The caller's context from request headers (invalid when there is none).
    pub fn extract(&self, headers: &http::HeaderMap) -> RemoteContext {
        let mut cx = self.inner.extract(&Headers(headers));
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
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        if span.is_disabled() {
            return;
        }
        self.inject_cx(&span.context(), headers);
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
        crate::otlp::ids_of_context(&self.cx).map(|(t, _)| crate::trace::hex(&t))
    }

    /// The caller's span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> Option<String> {
        crate::otlp::ids_of_context(&self.cx).map(|(_, s)| crate::trace::hex(&s))
    }

    /// Whether the caller sampled the trace.
    pub fn is_sampled(&self) -> bool {
        self.cx.span().span_context().is_sampled()
    }

    /// A baggage entry.
    pub fn baggage(&self, key: &str) -> Option<String> {
        crate::otlp::baggage_value(&self.cx, key)
    }

    /// The correlation id (its header, or the `correlation_id` baggage entry).
    pub fn correlation_id(&self) -> Option<String> {
        self.baggage(CORRELATION_BAGGAGE_KEY)
    }

    /// Makes this context the parent of `span` (call it before the span is first
    /// entered). Returns `false` when the span is disabled, was already started, or the
    /// OpenTelemetry layer is not installed.
    pub fn set_parent_of(&self, span: &tracing::Span) -> bool {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        !span.is_disabled() && span.set_parent(self.cx.clone()).is_ok()
    }
}

/// Installs the formats used by [`extract`] and [`inject`].
pub(crate) fn configure(formats: &[Propagation]) {
    let propagator = Arc::new(Propagator::new(formats));
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = Some(propagator);
    let global = Propagator::new(formats);
    opentelemetry::global::set_text_map_propagator(global.inner);
}

/// Sets the correlation-id header (`LOG_CORRELATION_ID_HEADER`).
pub(crate) fn set_correlation_header(name: http::HeaderName) {
    *CORRELATION_HEADER
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(name);
}

fn correlation_header() -> http::HeaderName {
    CORRELATION_HEADER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_else(|| http::HeaderName::from_static("x-correlation-id"))
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

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
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
