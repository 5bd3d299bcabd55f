//! OTLP/gRPC export from a plain sync `main` to a real receiver: span names, parent and
//! child across nested monitored calls, error status, resource per the environment
//! rules, headers; metrics with their OpenTelemetry names, units, bounds and values.
//! With every span level sent to OpenTelemetry, the exporter's own HTTP/2 spans still
//! never reach the collector; refused exports are retried.

use std::time::Duration;

use flext_observability::{DEFAULT_BUCKETS, Observability, OtlpProtocol, monitor};
use flext_observability_tests::otlp::{MetricData, Receiver, StatusCode, attr};

#[derive(Debug)]
struct OutOfStock;

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of stock")
    }
}

#[monitor]
fn reserve(sku: u32) -> Result<u32, OutOfStock> {
    if sku == 0 { Err(OutOfStock) } else { Ok(sku) }
}

#[monitor]
fn place_order(sku: u32) -> Result<u32, OutOfStock> {
    reserve(sku).map(|s| s * 10)
}

#[test]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom
fn grpc_traces_and_metrics_reach_the_collector() {
    // SAFETY: this file holds one test; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("OTEL_SERVICE_NAME", "orders-from-env");
        std::env::set_var(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=loses,deployment.environment=prod%20eu",
        );
    }
    let receiver = Receiver::start();
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        // The built-in system checks' runs are spans too: this test counts spans.
        .system_checks(false)
        .otlp_endpoint(receiver.grpc_endpoint())
        .otlp_protocol(OtlpProtocol::Grpc)
        .otlp_header("x-api-key", "s3cret")
        .metric_export_interval(Duration::from_millis(200))
        // Every level: h2 opens `debug` and `trace` spans on the exporter's threads.
        .trace_level("trace")
        .install()
        .expect("install");
    assert_eq!(guard.service_name(), "orders-from-env");
    // An overloaded collector: the first exports are refused, then retried.
    receiver.fail_next(2);

    for sku in 1..=5 {
        place_order(sku).unwrap();
    }
    // Other families travel under their own names (a counter without `_total`).
    metrics::counter!("etl_rows_written", "pipeline" => "orders").increment(42);
    place_order(0).unwrap_err();

    let wait = Duration::from_secs(30);
    let spans = receiver
        .wait_spans(wait, |spans| {
            // A child ends before its parent: the two may leave in different batches.
            let count = |name: &str| spans.iter().filter(|s| s.span.name == name).count();
            (count("reserve") >= 6 && count("place_order") >= 6).then(|| spans.to_vec())
        })
        .expect("spans arrive (batches leave every 5 s)");

    let orders: Vec<_> = spans
        .iter()
        .filter(|s| s.span.name == "place_order")
        .collect();
    let reserves: Vec<_> = spans.iter().filter(|s| s.span.name == "reserve").collect();
    assert_eq!(orders.len(), 6);
    assert_eq!(reserves.len(), 6);
    for order in &orders {
        let child = reserves
            .iter()
            .find(|r| r.trace_id() == order.trace_id())
            .expect("each order has its reserve in the same trace");
        assert_eq!(child.parent_span_id(), order.span_id());
        assert!(order.span.parent_span_id.is_empty(), "orders are roots");
        assert_eq!(order.attr("code.function").as_deref(), Some("place_order"));
        assert_eq!(order.attr("code.namespace").as_deref(), Some("otlp_grpc"));
        assert!(
            order
                .attr("code.filepath")
                .unwrap()
                .ends_with("otlp_grpc.rs")
        );
    }
    let failed: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.span
                .status
                .as_ref()
                .is_some_and(|st| st.code == StatusCode::Error as i32)
        })
        .collect();
    assert_eq!(failed.len(), 2, "the failing order and its reserve");
    let failed_reserve = failed.iter().find(|s| s.span.name == "reserve").unwrap();
    let event = failed_reserve
        .span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("exception event");
    assert_eq!(
        attr(&event.attributes, "exception.message").as_deref(),
        Some("out of stock")
    );
    assert!(
        attr(&event.attributes, "exception.type")
            .unwrap()
            .ends_with("OutOfStock")
    );

    let resource = &spans[0].resource;
    let get = |k: &str| {
        resource
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("service.name"),
        Some("orders-from-env"),
        "OTEL_SERVICE_NAME wins"
    );
    assert_eq!(
        get("deployment.environment"),
        Some("prod eu"),
        "percent-decoded"
    );
    assert_eq!(get("telemetry.sdk.language"), Some("rust"));

    // Metrics: wait for an export that has seen all calls.
    let (metrics, resource) = flext_observability_tests::eventually(wait, || {
        receiver.last_metrics().filter(|(metrics, _)| {
            metrics.iter().any(|m| {
                m.name == "function.calls"
                    && matches!(&m.data, Some(MetricData::Sum(s)) if s.data_points.iter().any(|p| {
                        attr(&p.attributes, "function").as_deref() == Some("reserve")
                            && attr(&p.attributes, "result").as_deref() == Some("ok")
                            && p.value == Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(5))
                    }))
            })
        })
    })
    .expect("metrics arrive with every call counted");
    assert!(resource.contains(&("service.name".into(), "orders-from-env".into())));
    let calls = metrics.iter().find(|m| m.name == "function.calls").unwrap();
    let Some(MetricData::Sum(sum)) = &calls.data else {
        panic!("function.calls is a sum")
    };
    assert!(sum.is_monotonic);
    let errors = sum
        .data_points
        .iter()
        .find(|p| {
            attr(&p.attributes, "function").as_deref() == Some("reserve")
                && attr(&p.attributes, "result").as_deref() == Some("error")
                && attr(&p.attributes, "error").is_none()
        })
        .unwrap();
    assert_eq!(
        errors.value,
        Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(1))
    );
    let duration = metrics
        .iter()
        .find(|m| m.name == "function.calls.duration")
        .unwrap();
    assert_eq!(duration.unit, "s");
    let Some(MetricData::Histogram(h)) = &duration.data else {
        panic!("a histogram")
    };
    let point = h
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "function").as_deref() == Some("place_order"))
        .unwrap();
    assert_eq!(point.explicit_bounds, DEFAULT_BUCKETS);
    assert_eq!(point.count, 6);
    assert_eq!(point.bucket_counts.iter().sum::<u64>(), 6);
    assert_eq!(point.bucket_counts.len(), DEFAULT_BUCKETS.len() + 1);
    assert!(point.sum.unwrap() > 0.0 && point.sum.unwrap() < 1.0);
    let rows = metrics
        .iter()
        .find(|m| m.name == "etl_rows_written")
        .expect("facade counter exported");
    let Some(MetricData::Sum(rows)) = &rows.data else {
        panic!("a sum")
    };
    assert_eq!(
        attr(&rows.data_points[0].attributes, "pipeline").as_deref(),
        Some("orders")
    );
    assert_eq!(
        rows.data_points[0].value,
        Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(42))
    );
    let concurrent = metrics
        .iter()
        .find(|m| m.name == "function.calls.concurrent")
        .unwrap();
    assert!(matches!(&concurrent.data, Some(MetricData::Gauge(_))));

    let headers_ok = receiver.with(|r| {
        r.headers
            .iter()
            .all(|h| h.iter().any(|(k, v)| k == "x-api-key" && v == "s3cret"))
    });
    assert!(headers_ok, "every export carries the configured header");

    // The exporter counts what it delivered on /metrics, once the collector's answer is
    // back: that can be a moment after the receiver stored the spans.
    let addr = guard.local_addr().unwrap();
    let scrape = || {
        flext_observability_tests::http::get(&format!("http://{addr}/metrics"))
            .unwrap()
            .body
    };
    let exported = |text: &str| {
        flext_observability_tests::sample(text, r#"flext_otlp_exported_total{signal="traces"}"#)
            .unwrap()
    };
    let text = flext_observability_tests::eventually(wait, || {
        let text = scrape();
        (exported(&text) >= 12.0).then_some(text)
    })
    .unwrap_or_else(|| panic!("{} spans counted as exported", exported(&scrape())));
    for signal in ["traces", "metrics"] {
        let failed = flext_observability_tests::sample(
            &text,
            &format!(r#"flext_otlp_dropped_total{{signal="{signal}",reason="export_failed"}}"#),
        );
        assert_eq!(failed, Some(0.0), "{signal}: refused exports were retried");
    }
    assert_eq!(receiver.refused(), 2);

    // Several metric exports later, the collector still saw no span but ours: the
    // exporter's own (h2 `Connection`, `FramedWrite::flush`, ...) never reach it, so an
    // idle service sends nothing.
    let exports = receiver.with(|r| r.metrics.len());
    let later = receiver.wait(wait, |r| (r.metrics.len() >= exports + 5).then_some(()));
    assert!(later.is_some(), "metric exports go on every 200 ms");
    let names = receiver.span_names();
    let foreign: std::collections::BTreeSet<_> = names
        .iter()
        .filter(|n| !matches!(n.as_str(), "reserve" | "place_order"))
        .collect();
    assert!(foreign.is_empty(), "spans not ours: {foreign:?}");
    drop(guard);
    let names = receiver.span_names();
    assert!(
        names
            .iter()
            .all(|n| matches!(n.as_str(), "reserve" | "place_order")),
        "after the final flush: {names:?}"
    );
}
