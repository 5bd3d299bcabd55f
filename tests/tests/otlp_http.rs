//! OTLP/HTTP (protobuf) export from inside a current-thread Tokio runtime, configured
//! from the environment only: base endpoint + `/v1/traces`, a per-signal metrics
//! endpoint used as given, percent-decoded `OTEL_EXPORTER_OTLP_HEADERS`, `service.name`
//! from `OTEL_RESOURCE_ATTRIBUTES` when `OTEL_SERVICE_NAME` is unset, empty variables
//! read as unset. Refused exports (HTTP 503) are retried. Dropping the guard inside the
//! runtime flushes without deadlocking.

use std::time::Duration;

use flext_observability::{Observability, monitor};
use flext_observability_tests::otlp::{MetricData, Receiver, attr};

#[monitor]
async fn fetch_price(sku: u32) -> u32 {
    tokio::task::yield_now().await;
    sku * 3
}

#[monitor]
async fn quote(sku: u32) -> u32 {
    fetch_price(sku).await + 1
}

#[tokio::test(flavor = "current_thread")]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom
async fn http_export_from_a_current_thread_runtime() {
    let receiver = std::sync::Arc::new(Receiver::start());
    // SAFETY: this file holds one test; nothing else reads the environment concurrently.
    unsafe {
        // Empty is unset (the specification's rule): none of these turns anything off
        // or fails `install()`.
        for empty in [
            "OTEL_SERVICE_NAME",
            "OTEL_TRACES_EXPORTER",
            "OTEL_PROPAGATORS",
            "OTEL_TRACES_SAMPLER",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "LOG_LEVEL",
        ] {
            std::env::set_var(empty, "");
        }
        std::env::set_var(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}/", receiver.http_endpoint()),
        );
        // Per-signal: used as given.
        std::env::set_var(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            format!("{}/v1/metrics", receiver.http_endpoint()),
        );
        std::env::set_var(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20t0ken,x-tenant=a%2Cb",
        );
        std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
        std::env::set_var(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=pricing%2Dsvc,team=core",
        );
        std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "60000");
        std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "100");
    }
    let guard = Observability::builder()
        .without_server()
        // The built-in system checks' runs are spans too: this test counts spans.
        .system_checks(false)
        .install()
        .expect("install");
    assert_eq!(guard.service_name(), "pricing-svc");
    // An overloaded collector: the first exports are answered 503, then retried.
    receiver.fail_next(2);

    for sku in 0..4 {
        assert_eq!(quote(sku).await, sku * 3 + 1);
    }

    // Waiting blocks, so it happens off this runtime's only thread.
    let r = receiver.clone();
    let spans = tokio::task::spawn_blocking(move || {
        r.wait_spans(Duration::from_secs(30), |spans| {
            // A child ends before its parent: the two may leave in different batches.
            let count = |name: &str| spans.iter().filter(|s| s.span.name == name).count();
            (count("fetch_price") >= 4 && count("quote") >= 4).then(|| spans.to_vec())
        })
    })
    .await
    .unwrap()
    .expect("spans arrive over HTTP");
    assert_eq!(spans.iter().filter(|s| s.span.name == "quote").count(), 4);
    for q in spans.iter().filter(|s| s.span.name == "quote") {
        let child = spans
            .iter()
            .find(|s| s.span.name == "fetch_price" && s.trace_id() == q.trace_id())
            .expect("child in the same trace");
        assert_eq!(child.parent_span_id(), q.span_id());
    }
    let resource = &spans[0].resource;
    assert!(resource.contains(&("service.name".into(), "pricing-svc".into())));
    assert!(resource.contains(&("team".into(), "core".into())));
    assert_eq!(receiver.refused(), 2, "the refused exports were retried");
    let failed = flext_observability_tests::sample(
        &flext_observability::prometheus::render(),
        r#"flext_otlp_dropped_total{signal="traces",reason="export_failed"}"#,
    );
    assert_eq!(failed, Some(0.0));
    // The propagators stay the default despite the empty `OTEL_PROPAGATORS`.
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap(),
    );
    assert!(flext_observability::propagation::extract(&headers).is_valid());

    // Metrics go out every minute; dropping the guard must export them once more.
    assert!(receiver.last_metrics().is_none());
    drop(guard);
    let (metrics, _) = receiver
        .last_metrics()
        .expect("the final export on shutdown, at the per-signal endpoint");
    let headers_ok = receiver.with(|r| {
        r.headers.iter().all(|h| {
            h.contains(&("authorization".into(), "Bearer t0ken".into()))
                && h.contains(&("x-tenant".into(), "a,b".into()))
        })
    });
    assert!(headers_ok, "every export carries the decoded headers");
    let calls = metrics.iter().find(|m| m.name == "function.calls").unwrap();
    let Some(MetricData::Sum(sum)) = &calls.data else {
        panic!("a sum")
    };
    let ok = sum
        .data_points
        .iter()
        .find(|p| {
            attr(&p.attributes, "function").as_deref() == Some("quote")
                && attr(&p.attributes, "result").as_deref() == Some("ok")
        })
        .unwrap();
    assert_eq!(
        ok.value,
        Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(4))
    );
}
