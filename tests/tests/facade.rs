//! Metrics written with the `metrics` crate land in the same exposition, with valid
//! names, and a flood of label values stays bounded.

#![allow(clippy::float_cmp)] // samples are exact counts read back as f64

use flext_observability::prometheus::render;
use flext_observability::{Observability, monitor};
use flext_observability_tests::sample;

/// Gives this binary the `function_calls` family, for the collision check.
#[monitor]
fn touch() {}

#[test]
fn facade_metrics_share_the_exposition_and_stay_bounded() {
    touch();
    let _guard = Observability::builder()
        .without_server()
        .series_limit(100)
        .install()
        .unwrap();

    // Names are made valid and counters gain `_total`.
    metrics::counter!("http.requests", "route" => "/orders", "2bad-label" => "x").increment(2);
    let text = render();
    assert_eq!(
        sample(
            &text,
            r#"http_requests_total{_2bad_label="x",route="/orders"}"#
        ),
        Some(2.0),
        "{text}"
    );

    // Cached handles and per-call registration hit the same series.
    let handle = metrics::counter!("jobs_total", "queue" => "a");
    for _ in 0..10 {
        handle.increment(1);
        metrics::counter!("jobs_total", "queue" => "a").increment(1);
    }
    assert_eq!(sample(&render(), r#"jobs_total{queue="a"}"#), Some(20.0));

    // Gauges move both ways.
    let gauge = metrics::gauge!("workers_busy");
    gauge.increment(5.0);
    gauge.decrement(2.0);
    assert_eq!(sample(&render(), "workers_busy"), Some(3.0));

    // Histograms use the default (seconds) buckets unless configured.
    metrics::histogram!("step_duration_seconds").record(0.002);
    let text = render();
    assert_eq!(
        sample(&text, r#"step_duration_seconds_bucket{le="0.001"}"#),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, r#"step_duration_seconds_bucket{le="0.0025"}"#),
        Some(1.0)
    );
    assert_eq!(sample(&text, "step_duration_seconds_count"), Some(1.0));

    // A kind conflict is reported and not exported under the wrong type.
    metrics::gauge!("jobs_total", "queue" => "a").set(99.0);
    assert_eq!(sample(&render(), r#"jobs_total{queue="a"}"#), Some(20.0));

    // Names that would collide with another family in the exposition formats are left
    // out instead of making the whole scrape invalid.
    metrics::gauge!("function_calls").set(1.0);
    metrics::histogram!("reply_size_bytes").record(1.0);
    metrics::gauge!("reply_size_bytes_count").set(7.0);
    let om = flext_observability::prometheus::render_openmetrics();
    assert!(!om.contains("# TYPE function_calls gauge"), "{om}");
    assert!(!om.contains("reply_size_bytes_count 7"), "{om}");
    assert!(om.contains("reply_size_bytes_count 1"), "{om}");
    if let Some(check) = flext_observability_tests::tools::python_openmetrics_parse(&om) {
        assert_eq!(check.code, 0, "{}", check.output);
    } else {
        flext_observability_tests::missing(
            "Python prometheus_client >= 0.26",
            "pip install prometheus-client",
        );
    }

    // A flood of distinct label values: 100 real series, the rest in one overflow series.
    for i in 0..100_000 {
        metrics::counter!("logins_total", "user" => i.to_string()).increment(1);
    }
    let text = render();
    let series = text
        .lines()
        .filter(|l| l.starts_with("logins_total{"))
        .count();
    assert_eq!(series, 101, "100 series plus the overflow series");
    assert_eq!(
        sample(&text, r#"logins_total{otel_metric_overflow="true"}"#),
        Some(99_900.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"flext_observability_series_overflows_total{metric="logins_total"}"#
        ),
        Some(99_900.0)
    );
}
