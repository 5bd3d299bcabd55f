//! Server and client spans of gRPC calls with the conventions' attributes; the trace
//! context comes from the call's metadata and goes into the outgoing one through the
//! HTTP integration's helpers (the configured propagators, feature `otlp`).

use ::http::{HeaderMap, HeaderValue};
use tracing::Span;
use tracing::field::Empty;

use super::methods::MethodData;
use super::semconv::code_name;
use crate::integrations::http::span::{continue_trace, split_host};

/// The `tracing` target of the spans: `trace_level("flext_observability::grpc=off")`
/// turns them off without touching the metrics.
pub const SPAN_TARGET: &str = "flext_observability::grpc";

/// What the server span is opened with.
pub(crate) struct ServerCall<'a> {
    pub(crate) method: &'static MethodData,
    /// The method as the path named it (`rpc.method_original` when not recognised).
    pub(crate) original: &'a str,
    pub(crate) authority: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) correlation: Option<&'a HeaderValue>,
    pub(crate) dup: bool,
}

/// A server span, its parent taken from the call's metadata. One atomic load when
/// nothing records spans of this target.
pub(crate) fn server(c: &ServerCall<'_>) -> Span {
    let host = c.authority.map(split_host);
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "gRPC server call",
        otel.name = c.method.span_name(),
        otel.kind = "server",
        otel.status_code = Empty,
        rpc.system.name = "grpc",
        rpc.method = c.method.name,
        rpc.method_original = c.method.is_other().then_some(c.original),
        rpc.status_code = Empty,
        error.type = Empty,
        server.address = host.map(|(address, _)| address),
        server.port = host.and_then(|(_, port)| port),
        correlation_id = c.correlation.and_then(|v| v.to_str().ok()),
        rpc.system = c.dup.then_some("grpc"),
        rpc.service = c.dup.then(|| c.method.old_service()),
        rpc.grpc.status_code = Empty,
    );
    continue_trace(&span, c.headers);
    span
}

/// A client span, child of the current span.
pub(crate) fn client(
    method: &'static MethodData,
    destination: (&str, Option<u16>),
    dup: bool,
) -> Span {
    let (address, port) = destination;
    tracing::info_span!(
        target: SPAN_TARGET,
        "gRPC client call",
        otel.name = method.span_name(),
        otel.kind = "client",
        otel.status_code = Empty,
        rpc.system.name = "grpc",
        rpc.method = method.name,
        rpc.status_code = Empty,
        error.type = Empty,
        server.address = (!address.is_empty()).then_some(address),
        server.port = port,
        rpc.system = dup.then_some("grpc"),
        rpc.service = dup.then(|| method.old_service()),
        rpc.grpc.status_code = Empty,
    )
}

/// Records how a call ended: its status, and `error.type` with the span's error status
/// when `error` names one.
pub(crate) fn finish(span: &Span, code: u8, error: Option<&str>, dup: bool) {
    if span.is_disabled() {
        return;
    }
    span.record("rpc.status_code", code_name(code));
    if dup {
        span.record("rpc.grpc.status_code", u64::from(code));
    }
    if let Some(error) = error {
        span.record("error.type", error);
        span.record("otel.status_code", "ERROR");
    }
}

/// Names a method on its span once the server learned it (its first answered call).
pub(crate) fn learned(span: &Span, method: &'static MethodData) {
    if !span.is_disabled() {
        span.record("otel.name", method.span_name());
        span.record("rpc.method", method.name);
    }
}
