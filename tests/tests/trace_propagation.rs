//! Propagation round trips: the context of a monitored call goes out as W3C
//! `traceparent`, B3 single or B3 multi headers, comes back through `extract`, and a
//! server span parented on it continues the same trace. Baggage and the correlation id
//! travel along. Malformed or repeated trace headers are refused, `tracestate` and
//! `baggage` sent in several headers are combined, and with several formats the first
//! one that carries a valid context wins.

use flext_observability::propagation::{self, Propagator, RemoteContext};
use flext_observability::trace::{current_span_id, current_trace_id};
use flext_observability::{Observability, Propagation, monitor};

/// A client call: its span's context, written with `propagator`.
#[monitor]
fn call_downstream(propagator: &Propagator) -> (http::HeaderMap, String, String) {
    let mut headers = http::HeaderMap::new();
    propagator.inject(&tracing::Span::current(), &mut headers);
    (
        headers,
        current_trace_id().expect("a trace id inside a monitored call"),
        current_span_id().expect("a span id"),
    )
}

/// The server side: a request span parented on the caller's context.
fn serve(parent: &RemoteContext) -> (String, String) {
    let span = tracing::info_span!("handle_request");
    assert!(parent.set_parent_of(&span));
    let _entered = span.enter();
    (current_trace_id().unwrap(), current_span_id().unwrap())
}

fn round_trip(format: Propagation, expect_headers: &[&str]) {
    let propagator = Propagator::new(&[format]);
    let (headers, trace_id, span_id) = call_downstream(&propagator);
    for name in expect_headers {
        assert!(
            headers.contains_key(*name),
            "{format:?} writes {name}: {headers:?}"
        );
    }
    let header_text = format!("{headers:?}");
    assert!(header_text.contains(&trace_id), "{header_text}");
    let remote = propagator.extract(&headers);
    assert!(remote.is_valid(), "{format:?}");
    assert_eq!(remote.trace_id().as_deref(), Some(trace_id.as_str()));
    assert_eq!(remote.span_id().as_deref(), Some(span_id.as_str()));
    assert!(remote.is_sampled());
    let (server_trace, server_span) = serve(&remote);
    assert_eq!(
        server_trace, trace_id,
        "{format:?}: the server continues the trace"
    );
    assert_ne!(server_span, span_id);
}

fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in pairs {
        map.append(*k, v.parse().unwrap());
    }
    map
}

const W3C_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const B3_TRACE: &str = "80f198ee56343ba864fe8b2a57d3eff7";
const B3: &str = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1";

#[test]
fn malformed_headers_are_refused() {
    let w3c = Propagator::new(&[Propagation::TraceContext, Propagation::Baggage]);
    assert!(
        w3c.extract(&headers(&[("traceparent", TRACEPARENT)]))
            .is_valid()
    );
    for bad in [
        "00-1-2-01",
        "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-+0f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-+1",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736",
        "garbage",
    ] {
        let cx = w3c.extract(&headers(&[("traceparent", bad)]));
        assert!(!cx.is_valid(), "{bad} accepted");
    }
    // Two `traceparent` headers: which one is meant is unknown.
    let twice = headers(&[("traceparent", TRACEPARENT), ("traceparent", TRACEPARENT)]);
    assert!(!w3c.extract(&twice).is_valid());

    let b3 = Propagator::new(&[Propagation::B3Single]);
    assert!(b3.extract(&headers(&[("b3", B3)])).is_valid());
    for bad in [
        "+0f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
        "80f198ee56343ba864fe8b2a57d3eff7-+457b5a2e4d86bd1-1",
        "80f198ee-e457b5a2e4d86bd1",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-x",
    ] {
        assert!(!b3.extract(&headers(&[("b3", bad)])).is_valid(), "{bad}");
    }
    let multi = Propagator::new(&[Propagation::B3Multi]);
    let ok = [
        ("x-b3-traceid", B3_TRACE),
        ("x-b3-spanid", "e457b5a2e4d86bd1"),
        ("x-b3-sampled", "1"),
    ];
    assert!(multi.extract(&headers(&ok)).is_valid());
    for (name, bad) in [
        ("x-b3-traceid", "+0f198ee56343ba864fe8b2a57d3eff7"),
        ("x-b3-traceid", "80F198EE56343BA864FE8B2A57D3EFF7"),
        ("x-b3-spanid", "+457b5a2e4d86bd1"),
        ("x-b3-spanid", "e457b5a2"),
    ] {
        let mut h = headers(&ok);
        h.insert(name, bad.parse().unwrap());
        assert!(!multi.extract(&h).is_valid(), "{name}: {bad}");
    }

    // Hostile baggage never panics; well-formed entries around it survive.
    for baggage in ["=", ",,,", "a", "k=v;;;=", "%zz=%zz", "k=v,=x,y"] {
        let cx = w3c.extract(&headers(&[
            ("traceparent", TRACEPARENT),
            ("baggage", baggage),
        ]));
        assert!(cx.is_valid(), "{baggage}");
    }
    let cx = w3c.extract(&headers(&[("baggage", "k=v,=x,y")]));
    assert_eq!(cx.baggage("k").as_deref(), Some("v"));

    // Repeated list headers are one list.
    let cx = w3c.extract(&headers(&[
        ("traceparent", TRACEPARENT),
        ("baggage", "tenant=acme"),
        ("baggage", "region=eu"),
    ]));
    assert_eq!(cx.baggage("tenant").as_deref(), Some("acme"));
    assert_eq!(cx.baggage("region").as_deref(), Some("eu"));
    let mut out = http::HeaderMap::new();
    Propagator::new(&[Propagation::TraceContext]).inject_context(
        &Propagator::new(&[Propagation::TraceContext]).extract(&headers(&[
            ("traceparent", TRACEPARENT),
            ("tracestate", "a=1"),
            ("tracestate", "b=2"),
        ])),
        &mut out,
    );
    let state = out["tracestate"].to_str().unwrap();
    assert!(state.contains("a=1") && state.contains("b=2"), "{state}");
}

#[test]
fn the_first_valid_format_wins() {
    let both = headers(&[("traceparent", TRACEPARENT), ("b3", B3)]);
    let w3c_first = Propagator::new(&[Propagation::TraceContext, Propagation::B3Single]);
    assert_eq!(
        w3c_first.extract(&both).trace_id().as_deref(),
        Some(W3C_TRACE)
    );
    let b3_first = Propagator::new(&[Propagation::B3Single, Propagation::TraceContext]);
    assert_eq!(
        b3_first.extract(&both).trace_id().as_deref(),
        Some(B3_TRACE)
    );
    // An invalid first format does not hide a valid second one.
    let broken_w3c = headers(&[("traceparent", "00-1-2-01"), ("b3", B3)]);
    assert_eq!(
        w3c_first.extract(&broken_w3c).trace_id().as_deref(),
        Some(B3_TRACE)
    );
}

#[test]
fn header_values_never_appear_in_debug_output() {
    let builder = Observability::builder()
        .otlp_header("authorization", "Bearer code-secret-123")
        .otlp_endpoint("http://127.0.0.1:4318");
    let text = format!("{builder:?}");
    assert!(!text.contains("code-secret-123"), "{text}");
    assert!(text.contains("authorization"), "{text}");
}

#[test]
fn w3c_b3_single_and_b3_multi_round_trip() {
    // Invalid settings fail `install()` naming the builder method, before anything starts.
    for (builder, source) in [
        (
            Observability::builder().otlp_endpoint("https://collector:4318"),
            "otlp_endpoint",
        ),
        (
            Observability::builder().otlp_endpoint("collector"),
            "otlp_endpoint",
        ),
        (Observability::builder().log_level("loud"), "log_level"),
        (
            Observability::builder().sampler(flext_observability::Sampler::TraceIdRatio(2.0)),
            "sampler",
        ),
    ] {
        match builder.without_server().install() {
            Err(flext_observability::Error::Config { source: s, reason }) => {
                assert_eq!(s, source, "{reason}");
            }
            other => panic!("{source}: expected a config error, got {other:?}"),
        }
    }

    let _guard = Observability::builder()
        .without_server()
        .propagators(&[Propagation::B3Multi, Propagation::Baggage])
        .install()
        .expect("install");

    round_trip(Propagation::TraceContext, &["traceparent"]);
    round_trip(Propagation::B3Single, &["b3"]);
    round_trip(
        Propagation::B3Multi,
        &["x-b3-traceid", "x-b3-spanid", "x-b3-sampled"],
    );

    // The installed formats (B3 multi and baggage here) serve `extract`/`inject`.
    let mut incoming = http::HeaderMap::new();
    incoming.insert(
        "x-b3-traceid",
        "80f198ee56343ba864fe8b2a57d3eff7".parse().unwrap(),
    );
    incoming.insert("x-b3-spanid", "e457b5a2e4d86bd1".parse().unwrap());
    incoming.insert("x-b3-sampled", "1".parse().unwrap());
    incoming.insert("baggage", "tenant=acme".parse().unwrap());
    incoming.insert("x-correlation-id", "req-77".parse().unwrap());
    let remote = propagation::extract(&incoming);
    assert_eq!(
        remote.trace_id().as_deref(),
        Some("80f198ee56343ba864fe8b2a57d3eff7")
    );
    assert_eq!(remote.baggage("tenant").as_deref(), Some("acme"));
    assert_eq!(remote.correlation_id().as_deref(), Some("req-77"));

    let span = tracing::info_span!("request");
    assert!(remote.set_parent_of(&span));
    let outgoing = span.in_scope(|| {
        let mut outgoing = http::HeaderMap::new();
        propagation::inject(&mut outgoing);
        outgoing
    });
    assert_eq!(outgoing["x-b3-traceid"], "80f198ee56343ba864fe8b2a57d3eff7");
    assert_ne!(
        outgoing["x-b3-spanid"], "e457b5a2e4d86bd1",
        "our own span is the parent now"
    );
    assert_eq!(outgoing["x-correlation-id"], "req-77");
    let baggage = outgoing["baggage"].to_str().unwrap();
    assert!(baggage.contains("tenant=acme"), "{baggage}");

    // No context in the headers: nothing to continue.
    let empty = propagation::extract(&http::HeaderMap::new());
    assert!(!empty.is_valid());
    assert_eq!(empty.trace_id(), None);
}
