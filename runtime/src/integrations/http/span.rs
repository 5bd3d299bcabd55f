//! Server and client spans with the conventions' attributes, and the trace context they
//! continue (feature `otlp`: extracted from request headers by the configured
//! propagators, injected into outgoing ones).

use ::http::{HeaderMap, HeaderValue, Uri};
use tracing::Span;
use tracing::field::Empty;

use super::routes::RouteData;
use super::semconv::{OTHER_METHOD, SCHEMES, VERSIONS, method_name};

/// The `tracing` target of the spans: `trace_level("flext_observability::http=off")`
/// turns them off without touching the metrics.
pub const SPAN_TARGET: &str = "flext_observability::http";

/// What the server span is opened with.
pub(crate) struct ServerRequest<'a> {
    pub(crate) route: &'static RouteData,
    pub(crate) method: u8,
    pub(crate) original_method: &'a str,
    pub(crate) scheme: u8,
    pub(crate) version: u8,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) correlation: Option<&'a HeaderValue>,
}

/// A server span, its parent taken from the request headers (feature `otlp`). Costs one
/// atomic load when nothing records spans of this target. Every attribute known at the
/// start is given at creation: each later `record` is one more round through the
/// subscriber's layers.
pub(crate) fn server(r: &ServerRequest<'_>) -> Span {
    let host = || {
        r.uri
            .authority()
            .map(::http::uri::Authority::as_str)
            .or_else(|| r.headers.get(::http::header::HOST)?.to_str().ok())
            .map(split_host)
    };
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "HTTP request",
        otel.name = r.route.span_name(r.method),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method_name(r.method),
        http.request.method_original = (r.method == OTHER_METHOD).then_some(r.original_method),
        http.route = (!r.route.is_unmatched()).then_some(r.route.template),
        http.response.status_code = Empty,
        error.type = Empty,
        url.path = r.uri.path(),
        url.query = r.uri.query().map(redact_query).as_deref(),
        url.scheme = SCHEMES[usize::from(r.scheme)],
        network.protocol.version = VERSIONS[usize::from(r.version)],
        server.address = host().map(|(address, _)| address),
        server.port = host().and_then(|(_, port)| port),
        user_agent.original = r
            .headers
            .get(::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        correlation_id = r.correlation.and_then(|v| v.to_str().ok()),
    );
    continue_trace(&span, r.headers);
    span
}

/// Makes the trace context `headers` carry (W3C, B3: the configured propagators) the
/// parent of `span` (feature `otlp`; nothing otherwise, or when the span is disabled).
pub(crate) fn continue_trace(span: &Span, headers: &HeaderMap) {
    #[cfg(feature = "otlp")]
    if !span.is_disabled() && carries_context(headers) {
        let parent = crate::integrations::otlp::propagation::extract(headers);
        if parent.is_valid() {
            parent.set_parent_of(span);
        }
    }
    #[cfg(not(feature = "otlp"))]
    let _ = (span, headers);
}

/// Whether a request carries a trace context in a format the propagators read: most
/// requests do not, and checking is much cheaper than extracting nothing.
#[cfg(feature = "otlp")]
fn carries_context(headers: &HeaderMap) -> bool {
    ["traceparent", "b3", "x-b3-traceid"]
        .iter()
        .any(|name| headers.contains_key(*name))
}

/// Records how a request ended on its span: status, `error.type`, and the error status
/// when `error` is set.
pub(crate) fn finish(span: &Span, status: Option<u16>, error: Option<&str>) {
    if span.is_disabled() {
        return;
    }
    if let Some(status) = status {
        span.record("http.response.status_code", status);
    }
    if let Some(error) = error {
        span.record("error.type", error);
        span.record("otel.status_code", "ERROR");
    }
}

/// What the client span is opened with.
pub(crate) struct ClientRequest<'a> {
    pub(crate) method: u8,
    pub(crate) original_method: &'a str,
    pub(crate) address: &'a str,
    pub(crate) port: u16,
    /// The full URL, redacted on demand (only when the span is recorded).
    pub(crate) url: &'a dyn Fn() -> String,
}

/// A client span, child of the current span.
pub(crate) fn client(r: &ClientRequest<'_>) -> Span {
    let name = if r.method == OTHER_METHOD {
        "HTTP"
    } else {
        method_name(r.method)
    };
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "HTTP client request",
        otel.name = name,
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = method_name(r.method),
        http.request.method_original = (r.method == OTHER_METHOD).then_some(r.original_method),
        http.response.status_code = Empty,
        error.type = Empty,
        server.address = r.address,
        server.port = r.port,
        url.full = (r.url)().as_str(),
        network.protocol.version = Empty,
    );
    span
}

/// Writes the context of the current span (the client span, entered) into outgoing
/// headers with the configured propagators (feature `otlp`; nothing otherwise).
pub(crate) fn inject(headers: &mut HeaderMap) {
    #[cfg(feature = "otlp")]
    crate::integrations::otlp::propagation::inject(headers);
    #[cfg(not(feature = "otlp"))]
    let _ = headers;
}

/// `host[:port]` split; IPv6 literals keep their brackets off.
pub(crate) fn split_host(host: &str) -> (&str, Option<u16>) {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((addr, tail)) = rest.split_once(']') {
            return (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
        return (host, None);
    }
    match host.rsplit_once(':') {
        Some((addr, port)) => match port.parse() {
            Ok(port) => (addr, Some(port)),
            Err(_) => (host, None),
        },
        None => (host, None),
    }
}

/// Query parameters whose values the conventions ask to redact.
const SENSITIVE: [&str; 5] = [
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Amz-Signature",
];

/// A query with the values of signature-like parameters replaced by `REDACTED`
/// (borrowed when there is none).
pub(crate) fn redact_query(query: &str) -> std::borrow::Cow<'_, str> {
    let sensitive = |key: &str| {
        SENSITIVE.contains(&key) || matches!(key, "X-Amz-Credential" | "X-Amz-Security-Token")
    };
    if !query
        .split('&')
        .any(|pair| pair.split_once('=').is_some_and(|(key, _)| sensitive(key)))
    {
        return std::borrow::Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if sensitive(key) => {
                out.push_str(key);
                out.push_str("=REDACTED");
            }
            _ => out.push_str(pair),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A URL without credentials (`REDACTED:REDACTED@`) and with signature parameters
/// redacted, for `url.full`.
pub(crate) fn redact_url(
    scheme: &str,
    userinfo: bool,
    host_port: &str,
    path: &str,
    query: Option<&str>,
) -> String {
    let mut out = format!("{scheme}://");
    if userinfo {
        out.push_str("REDACTED:REDACTED@");
    }
    out.push_str(host_port);
    out.push_str(path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(&redact_query(q));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_correlation_field_is_the_one_logs_read() {
        // The span macro needs a literal field name; the log layer reads this constant.
        assert_eq!(crate::span_ids::CORRELATION_FIELD, "correlation_id");
    }

    #[test]
    fn hosts_split_and_urls_are_redacted() {
        assert_eq!(split_host("example.com:8080"), ("example.com", Some(8080)));
        assert_eq!(split_host("example.com"), ("example.com", None));
        assert_eq!(split_host("[::1]:3000"), ("::1", Some(3000)));
        assert_eq!(
            redact_query("a=1&sig=secret&X-Amz-Signature=s&b"),
            "a=1&sig=REDACTED&X-Amz-Signature=REDACTED&b"
        );
        assert_eq!(
            redact_url("https", true, "h:1", "/p", Some("sig=x")),
            "https://REDACTED:REDACTED@h:1/p?sig=REDACTED"
        );
    }
}
