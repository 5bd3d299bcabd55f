//! Hostile input through the facade and business labels: values with quotes,
//! backslashes, CR/LF, NUL, non-ASCII, `# EOF` and a megabyte; names that collide with
//! built-in families or with each other; counters pushed past `u64::MAX`; negative
//! observations; the overflow marker as a user label. Both formats must pass promtool
//! and the Python parsers, values must be capped as documented, and every refusal
//! must be reported naming what collided.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use flext_observability::{Counter, Histogram, business_metric, monitor};
use flext_observability_tests::sample;

use super::common::{logs, mb, rss, runtime, serial, validate_both_formats};

/// Hostile values through business labels.
#[business_metric(labels(value))]
static FAULT_HOSTILE_TOTAL: Counter;

/// Negative observations into non-negative buckets.
#[business_metric(labels(kind), buckets = [0.5, 1])]
static FAULT_LATENCY_SECONDS: Histogram;

/// Signed buckets: negative observations are kept, OpenMetrics gets no sum.
#[business_metric(buckets = [-10, 0, 10])]
static FAULT_TEMPERATURE_CELSIUS: Histogram;

#[monitor]
fn work() {}

const MEGABYTE: usize = 1 << 20;

fn hostile_values() -> Vec<String> {
    vec![
        r#"quote " and \ backslash"#.to_owned(),
        "line\nfeed and carriage\rreturn".to_owned(),
        "nul\0byte".to_owned(),
        "non-ASCII: é ✓ 日本 🚀".to_owned(),
        "# EOF".to_owned(),
        "\n# EOF\n".to_owned(),
        "} 1\nfake_metric 2".to_owned(),
        "x".repeat(MEGABYTE),
    ]
}

#[test]
fn hostile_label_values_pass_every_parser_and_are_capped() {
    let _serial = serial();
    runtime();
    work();
    let before = rss();
    for value in hostile_values() {
        metrics::counter!("fault_facade_hostile_total", "value" => value.clone()).increment(1);
        metrics::gauge!("fault_facade_hostile_level", "value" => value.clone()).set(1.5);
        metrics::histogram!("fault_facade_hostile_seconds", "value" => value.clone()).record(0.1);
        FAULT_HOSTILE_TOTAL { value: &value }.inc();
    }
    // 500 distinct megabyte values: the bytes are bounded, not only the series count.
    let mut big = "y".repeat(MEGABYTE);
    for i in 0..500 {
        big.replace_range(..8, &format!("{i:08}"));
        metrics::counter!("fault_facade_big_total", "value" => big.clone()).increment(1);
        FAULT_HOSTILE_TOTAL { value: &big }.inc();
    }
    drop(big);
    let grown = rss().saturating_sub(before);
    let (text, om) = validate_both_formats("hostile label values");
    let largest_line = text.lines().map(str::len).max().unwrap_or(0);
    eprintln!(
        "hostile values: RSS +{:.1} MB for 500 distinct 1 MB values; text {} KB, OpenMetrics \
         {} KB, longest line {largest_line} bytes",
        mb(grown),
        text.len() / 1024,
        om.len() / 1024
    );
    assert!(
        largest_line < 4096,
        "a label value was not cut to 1 KiB: a line of {largest_line} bytes"
    );
    assert!(
        text.len() < 8 * MEGABYTE,
        "the exposition is {} bytes after 500 megabyte values",
        text.len()
    );
    assert!(
        grown < 64 * MEGABYTE as u64,
        "500 distinct 1 MB label values grew RSS by {:.1} MB (bound: 64 MB)",
        mb(grown)
    );
    // Cut values end with `…` and keep their start.
    assert!(text.contains(&format!(
        "fault_facade_big_total{{value=\"00000499{}…\"}} 1",
        "y".repeat(1024 - 8 - '…'.len_utf8())
    )));
    // Escaped, on one line each: nothing a value holds starts a line of its own.
    assert!(
        !text
            .lines()
            .any(|l| l == "# EOF" || l.starts_with("fake_metric"))
    );
    assert_eq!(om.matches("\n# EOF\n").count(), 1, "one # EOF, at the end");
}

#[test]
fn colliding_names_are_refused_or_warned_about_naming_both() {
    let _serial = serial();
    runtime();
    work();
    // The facade reuses `#[monitor]`'s family, with the very labels of its series.
    metrics::counter!(
        "function_calls",
        "function" => "work",
        "module" => module_path!(),
        "result" => "ok"
    )
    .increment(1000);
    // ... and the runtime's `build_info`, as another type.
    metrics::gauge!("build_info").set(7.0);
    // Three names that are one once made valid; two label names that are one.
    metrics::counter!("col-x").increment(1);
    metrics::counter!("col.x").increment(1);
    metrics::counter!("col x").increment(1);
    metrics::counter!("fault_label_merge_total", "a-b" => "1", "a.b" => "2").increment(1);
    metrics::counter!("fault_label_merge_apart_total", "c-d" => "1").increment(1);
    metrics::counter!("fault_label_merge_apart_total", "c.d" => "2").increment(1);
    // No name at all.
    metrics::counter!("").increment(1);
    // The overflow marker as a user label.
    metrics::counter!("fault_marker_total", "otel_metric_overflow" => "true").increment(3);

    let (text, _) = validate_both_formats("colliding names");
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("function_calls_total{")
                && l.contains("function=\"work\"")
                && l.contains("result=\"ok\"")
        })
        .collect();
    assert_eq!(calls.len(), 1, "one series, #[monitor]'s: {calls:?}");
    assert!(
        calls[0].ends_with(" 1"),
        "the monitored count, not the facade's: {calls:?}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("build_info ")),
        "the facade gauge build_info is refused"
    );
    assert_eq!(sample(&text, "col_x_total"), Some(3.0));
    assert!(
        !text.contains("\n_total") && !text.contains("\n__total"),
        "no nameless metric"
    );
    assert_eq!(
        sample(
            &text,
            r#"fault_marker_total{exported_otel_metric_overflow="true"}"#
        ),
        Some(3.0)
    );
    let logs = logs();
    for (what, needles) in [
        (
            "function_calls",
            &[
                "`function_calls_total`",
                "the `metrics` facade",
                "the runtime",
            ][..],
        ),
        ("build_info", &["`build_info`", "the `metrics` facade"][..]),
        ("col_x", &["`col-x`", "`col.x`", "col_x_total"][..]),
        ("labels", &["`a-b`", "`a.b`", "`a_b`"][..]),
        ("labels apart", &["`c-d`", "`c.d`", "`c_d`"][..]),
        ("empty name", &["empty name"][..]),
        ("marker", &["exported_otel_metric_overflow"][..]),
    ] {
        assert!(
            logs.lines().any(|l| needles.iter().all(|n| l.contains(n))),
            "no warning about {what} naming {needles:?}; logs:\n{logs}"
        );
    }
}

#[test]
fn counters_saturate_and_negative_observations_follow_openmetrics() {
    let _serial = serial();
    runtime();
    metrics::counter!("fault_saturating_total").increment(u64::MAX);
    metrics::counter!("fault_saturating_total").increment(5);
    metrics::histogram!("fault_facade_latency_seconds").record(-1.0);
    metrics::histogram!("fault_facade_latency_seconds").record(0.25);
    FAULT_LATENCY_SECONDS { kind: "read" }.observe(-0.5);
    FAULT_LATENCY_SECONDS { kind: "read" }.observe(0.75);
    FAULT_TEMPERATURE_CELSIUS.observe(-20.0);
    FAULT_TEMPERATURE_CELSIUS.observe(5.0);

    let (text, om) = validate_both_formats("saturation and negative observations");
    assert_eq!(
        sample(&text, "fault_saturating_total"),
        Some(u64::MAX as f64),
        "saturated, not wrapped to 4"
    );
    assert_eq!(
        sample(&text, "fault_facade_latency_seconds_count"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "fault_facade_latency_seconds_sum"),
        Some(0.25)
    );
    assert_eq!(
        sample(&text, r#"fault_latency_seconds_sum{kind="read"}"#),
        Some(0.75)
    );
    for metric in ["fault_facade_latency_seconds", "fault_latency_seconds"] {
        assert_eq!(
            sample(
                &text,
                &format!(
                    r#"flext_observability_observations_refused_total{{metric="{metric}",reason="negative"}}"#
                )
            ),
            Some(1.0),
            "{metric}: the refused observation is counted"
        );
    }
    // Signed buckets keep the negative value; OpenMetrics has no sum (nor count) for them.
    assert_eq!(sample(&text, "fault_temperature_celsius_sum"), Some(-15.0));
    assert!(!om.contains("fault_temperature_celsius_sum"));
    assert!(om.contains("fault_temperature_celsius_bucket{le=\"+Inf\"} 2"));
}
