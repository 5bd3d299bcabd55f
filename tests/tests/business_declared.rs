//! Declared business metrics: recording through statics, label structs and call sites
//! with fixed values; the exact exposition; `promtool check metrics` and the strict
//! OpenMetrics parser accept everything exposed.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use flext_observability::{
    Counter, CounterSeries, Gauge, Histogram, Info, business_metric, counter, gauge, histogram,
    series,
};
use flext_observability_tests::{require, sample, tools};

/// Runs of the nightly reconciliation.
#[business_metric]
static DECL_RECONCILIATIONS_TOTAL: Counter;

/// Rows written, by pipeline and target.
#[business_metric(labels(pipeline, target))]
pub static DECL_ROWS_WRITTEN_TOTAL: Counter;

/// Bytes sent to the warehouse.
#[business_metric(labels(r#type))]
static DECL_SENT_BYTES_TOTAL: Counter;

/// Share of complete rows, by pipeline.
#[business_metric(labels(pipeline))]
static DECL_COMPLETENESS_RATIO: Gauge;

/// Rows waiting in the staging area.
#[business_metric]
static DECL_STAGED_ROWS: Gauge;

/// Duration of loads.
#[business_metric(labels(pipeline), buckets = ["1s", "1m", "1h"])]
static DECL_LOAD_DURATION_SECONDS: Histogram;

/// Duration of lookups, default buckets.
#[business_metric]
static DECL_LOOKUP_DURATION_SECONDS: Histogram;

/// Size of batches in rows.
#[business_metric(buckets = [10, 100, 1000])]
static DECL_BATCH_ROWS: Histogram;

/// Version of each pipeline.
#[business_metric(labels(pipeline, version))]
static DECL_PIPELINE_INFO: Info;

/// Rows shared by a fixed call site and run-time values.
#[business_metric(labels(pipeline, target))]
static DECL_SHARED_ROWS_TOTAL: Counter;

/// Rows recorded for the lint check.
#[business_metric(labels(pipeline, target))]
static LINT_ROWS_TOTAL: Counter;

/// Versions recorded for the lint check.
#[business_metric(labels(pipeline, version))]
static LINT_PIPELINE_INFO: Info;

/// Timeouts of each pipeline, for the lint check: a unit word in an info metric's name is
/// not a unit (OpenMetrics allows none on info metrics).
#[business_metric(labels(pipeline, mode))]
static LINT_TIMEOUT_SECONDS_INFO: Info;

/// Modes the service runs in: an info metric set only in some branches.
#[business_metric(labels(mode))]
static DECL_MODE_INFO: Info;

/// Durations recorded for the lint check.
#[business_metric(labels(pipeline), buckets = ["1s", "1m"])]
static LINT_DURATION_SECONDS: Histogram;

/// Hand-picked name.
#[business_metric(name = "decl_custom_name_total", labels(pipeline), max_series = 10)]
static CUSTOM: Counter;

fn render() -> String {
    flext_observability::prometheus::render()
}

fn family(text: &str, name: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(rest) = line
            .strip_prefix("# HELP ")
            .or_else(|| line.strip_prefix("# TYPE "))
        {
            inside = rest.split(' ').next() == Some(name);
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
#[allow(clippy::too_many_lines)] // one exposition, checked family by family
fn exposition_is_exact() {
    // Label-less metrics exist at zero before any call.
    let before = render();
    assert_eq!(sample(&before, "decl_reconciliations_total"), Some(0.0));
    assert_eq!(sample(&before, "decl_staged_rows"), Some(0.0));
    assert_eq!(sample(&before, "decl_batch_rows_count"), Some(0.0));

    DECL_RECONCILIATIONS_TOTAL.inc();
    DECL_RECONCILIATIONS_TOTAL.inc_by(2u8);
    assert_eq!(DECL_RECONCILIATIONS_TOTAL.get(), 3);
    DECL_ROWS_WRITTEN_TOTAL {
        pipeline: "orders",
        target: "pg",
    }
    .inc_by(10usize);
    let pipeline = String::from("refunds");
    DECL_ROWS_WRITTEN_TOTAL {
        pipeline: &pipeline,
        target: "pg",
    }
    .inc();
    DECL_SENT_BYTES_TOTAL { r#type: "csv" }.inc_by(4096u32);
    DECL_COMPLETENESS_RATIO { pipeline: "orders" }.set(0.98);
    DECL_STAGED_ROWS.set(10u32);
    DECL_STAGED_ROWS.add(5.5);
    DECL_STAGED_ROWS.sub(0.5);
    assert!((DECL_STAGED_ROWS.get() - 15.0).abs() < f64::EPSILON);
    DECL_LOAD_DURATION_SECONDS { pipeline: "orders" }.observe(0.5);
    DECL_LOAD_DURATION_SECONDS { pipeline: "orders" }.observe(std::time::Duration::from_secs(90));
    DECL_BATCH_ROWS.observe(10u32);
    DECL_BATCH_ROWS.observe(11u32);
    DECL_BATCH_ROWS.observe(5000u32);
    DECL_PIPELINE_INFO {
        pipeline: "orders",
        version: "2.1.0",
    }
    .set();
    CUSTOM { pipeline: "x" }.inc();

    let text = render();
    assert_eq!(
        family(&text, "decl_rows_written_total"),
        "# HELP decl_rows_written_total Rows written, by pipeline and target.\n\
         # TYPE decl_rows_written_total counter\n\
         decl_rows_written_total{pipeline=\"orders\",target=\"pg\"} 10\n\
         decl_rows_written_total{pipeline=\"refunds\",target=\"pg\"} 1\n"
    );
    assert_eq!(
        family(&text, "decl_load_duration_seconds"),
        "# HELP decl_load_duration_seconds Duration of loads.\n\
         # TYPE decl_load_duration_seconds histogram\n\
         decl_load_duration_seconds_bucket{pipeline=\"orders\",le=\"1\"} 1\n\
         decl_load_duration_seconds_bucket{pipeline=\"orders\",le=\"60\"} 1\n\
         decl_load_duration_seconds_bucket{pipeline=\"orders\",le=\"3600\"} 2\n\
         decl_load_duration_seconds_bucket{pipeline=\"orders\",le=\"+Inf\"} 2\n\
         decl_load_duration_seconds_sum{pipeline=\"orders\"} 90.5\n\
         decl_load_duration_seconds_count{pipeline=\"orders\"} 2\n"
    );
    assert_eq!(
        family(&text, "decl_batch_rows"),
        "# HELP decl_batch_rows Size of batches in rows.\n\
         # TYPE decl_batch_rows histogram\n\
         decl_batch_rows_bucket{le=\"10\"} 1\n\
         decl_batch_rows_bucket{le=\"100\"} 2\n\
         decl_batch_rows_bucket{le=\"1000\"} 2\n\
         decl_batch_rows_bucket{le=\"+Inf\"} 3\n\
         decl_batch_rows_sum 5021\n\
         decl_batch_rows_count 3\n"
    );
    assert_eq!(
        family(&text, "decl_pipeline_info"),
        "# HELP decl_pipeline_info Version of each pipeline.\n\
         # TYPE decl_pipeline_info gauge\n\
         decl_pipeline_info{pipeline=\"orders\",version=\"2.1.0\"} 1\n"
    );
    assert_eq!(sample(&text, "decl_reconciliations_total"), Some(3.0));
    assert_eq!(
        sample(&text, r#"decl_sent_bytes_total{type="csv"}"#),
        Some(4096.0)
    );
    assert_eq!(
        sample(&text, r#"decl_completeness_ratio{pipeline="orders"}"#),
        Some(0.98)
    );
    assert_eq!(sample(&text, "decl_staged_rows"), Some(15.0));
    assert_eq!(
        sample(&text, r#"decl_custom_name_total{pipeline="x"}"#),
        Some(1.0)
    );
    assert_eq!(
        family(&text, "decl_lookup_duration_seconds")
            .lines()
            .filter(|l| l.contains("_bucket"))
            .count(),
        flext_observability::DEFAULT_BUCKETS.len() + 1,
        "a seconds histogram without `buckets` gets the default duration buckets"
    );

    // OpenMetrics: family names without `_total`/`_info`, UNIT for unit suffixes.
    let om = flext_observability::prometheus::render_openmetrics();
    assert!(om.contains("# TYPE decl_rows_written counter\n"), "{om}");
    assert!(om.contains("# TYPE decl_pipeline info\n"), "{om}");
    assert!(
        om.contains("# UNIT decl_load_duration_seconds seconds\n"),
        "{om}"
    );
    assert!(om.contains("# UNIT decl_sent_bytes bytes\n"), "{om}");
    assert!(
        om.contains("# UNIT decl_completeness_ratio ratio\n"),
        "{om}"
    );
}

#[test]
fn fixed_call_sites_and_run_time_values_share_one_series() {
    fn record_fixed() -> CounterSeries {
        series!(DECL_SHARED_ROWS_TOTAL {
            pipeline: "shared",
            target: "s3"
        })
    }
    // The call site's series exists (at zero) before it is first used.
    assert_eq!(
        sample(
            &render(),
            r#"decl_shared_rows_total{pipeline="shared",target="s3"}"#
        ),
        Some(0.0)
    );
    let fixed = record_fixed();
    fixed.inc_by(5u32);
    for _ in 0..3 {
        record_fixed().inc();
    }
    let dynamic = String::from("shared");
    DECL_SHARED_ROWS_TOTAL {
        pipeline: &dynamic,
        target: "s3",
    }
    .inc_by(100u32);
    let kept = DECL_SHARED_ROWS_TOTAL {
        pipeline: &dynamic,
        target: "s3",
    }
    .series();
    kept.inc();
    assert_eq!(kept.get(), 109);
    assert_eq!(fixed.get(), 109);
    let text = render();
    assert_eq!(
        sample(
            &text,
            r#"decl_shared_rows_total{pipeline="shared",target="s3"}"#
        ),
        Some(109.0),
        "one series, not two:\n{text}"
    );
}

#[test]
fn promtool_and_the_openmetrics_parser_accept_everything_exposed() {
    // The `metrics` recorder is what `install()` sets up; only this test needs it.
    let _guard = flext_observability::Observability::builder()
        .without_server()
        .histogram_buckets("decl_facade_payload_", &[256.0, 1024.0])
        .install()
        .expect("install");
    // Give every kind of series a value, facade metrics included.
    LINT_ROWS_TOTAL {
        pipeline: "lint\"quoted\\\nnewline",
        target: "pg",
    }
    .inc();
    LINT_PIPELINE_INFO {
        pipeline: "lint",
        version: "1",
    }
    .set();
    LINT_DURATION_SECONDS { pipeline: "lint" }.observe(3.0);
    series!(LINT_TIMEOUT_SECONDS_INFO {
        pipeline: "lint",
        mode: "strict"
    })
    .set();
    counter!(description: "Events seen.", "decl_facade_events_total", "pipeline" => "lint")
        .increment(1);
    gauge!(description: "Depth of the queue.", "decl_facade_queue_depth").set(3.0);
    histogram!(description: "Payload sizes.", buckets: "decl_facade_payload_", "decl_facade_payload_bytes", "pipeline" => "lint")
        .record(512.0);
    let text = render();
    // The builder's bounds, not the default seconds: 512 bytes is below 1024.
    assert_eq!(
        sample(
            &text,
            r#"decl_facade_payload_bytes_bucket{pipeline="lint",le="1024"}"#
        ),
        Some(1.0),
        "{text}"
    );
    for name in [
        "decl_facade_events_total",
        "decl_facade_queue_depth",
        "decl_facade_payload_bytes",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
    }
    let check = require!(
        tools::promtool_check_metrics(&text),
        "promtool",
        "apt-get install prometheus"
    );
    assert_eq!(
        check.code, 0,
        "promtool findings:\n{}\n{text}",
        check.output
    );
    assert!(check.output.trim().is_empty(), "{}", check.output);

    let om = flext_observability::prometheus::render_openmetrics();
    let parsed = require!(
        tools::python_openmetrics_parse(&om),
        "the Python OpenMetrics parser",
        "pip install prometheus-client"
    );
    assert_eq!(parsed.code, 0, "{}\n{om}", parsed.output);
    assert!(
        om.contains("# TYPE lint_timeout_seconds info\n")
            && !om.contains("# UNIT lint_timeout_seconds"),
        "{om}"
    );
}

#[test]
fn an_info_call_site_is_exported_only_once_set() {
    fn switch_mode(degraded: bool) {
        if degraded {
            series!(DECL_MODE_INFO { mode: "degraded" }).set();
        } else {
            series!(DECL_MODE_INFO { mode: "normal" }).set();
        }
    }
    // Both call sites are registered before `main`; neither has run.
    assert!(!render().contains("decl_mode_info{"));
    switch_mode(false);
    let text = render();
    assert_eq!(sample(&text, r#"decl_mode_info{mode="normal"}"#), Some(1.0));
    assert!(
        !text.contains(r#"decl_mode_info{mode="degraded"}"#),
        "a branch that never ran states a fact:\n{text}"
    );
    switch_mode(true);
    assert_eq!(
        sample(&render(), r#"decl_mode_info{mode="degraded"}"#),
        Some(1.0)
    );
}
