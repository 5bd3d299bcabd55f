//! Propagation round trips: the context of a monitored call goes out as W3C
//! `traceparent`, B3 single or B3 multi headers, comes back through `extract`, and a
//! server span parented on it continues the same trace. Baggage and the correlation id
//! travel along.

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
