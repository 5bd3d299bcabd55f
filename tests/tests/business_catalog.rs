//! Start-up validation: declarations that clash, within this crate, with another crate
//! (`flext-observability-fixture-clash`), with the runtime's own families and prefixes, or
//! with names of the validated facade macros, make `install()` fail with one issue each,
//! naming the source locations.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use flext_observability::{
    Counter, Error, Gauge, Histogram, Info, MetricMeta, Observability, business_metric, counter,
    gauge, histogram, monitor,
};
use flext_observability_fixture_clash as other;

/// Pipeline runs, declared here and, identically, in the fixture crate.
#[business_metric(labels(pipeline))]
static CLASH_RUNS_TOTAL: Counter;

/// Rows per batch: a histogram here, a gauge in the fixture crate.
#[business_metric(buckets = [10, 100])]
static CLASH_BATCH_ROWS: Histogram;

/// Loads, without the fixture's `target` label.
#[business_metric(labels(pipeline))]
static CLASH_LOADS_TOTAL: Counter;

/// Events as a counter; the gauge below is the same OpenMetrics family.
#[business_metric]
static CLASH_EVENTS_TOTAL: Counter;

/// Events as a gauge.
#[business_metric]
static CLASH_EVENTS: Gauge;

/// A business metric named like `#[monitor]`'s call counter.
#[business_metric(labels(pipeline))]
static FUNCTION_CALLS_TOTAL: Counter;

/// A business metric named like the runtime's build information.
#[business_metric(labels(pipeline))]
static BUILD_INFO: Info;

/// A business metric in the runtime's own prefix.
#[business_metric]
static FLEXT_OBSERVABILITY_RESTARTS_TOTAL: Counter;

/// A business metric named like the system metrics (feature `system`, off here: the
/// prefix is reserved all the same).
#[business_metric]
static PROCESS_RESTARTS_TOTAL: Counter;

/// A business metric in the prefix of the health check metrics.
#[business_metric]
static HEALTH_CHECK_PAGES_TOTAL: Counter;

/// A business metric in the prefix of the OTLP exporter's metrics.
#[business_metric]
static FLEXT_OTLP_RETRIES_TOTAL: Counter;

/// Declared here and recorded through the validated `counter!` too.
#[business_metric]
static CLASH_FACADE_EVENTS_TOTAL: Counter;

/// The validated facade macros: one name shared with a declaration, one name used as
/// two kinds. Their call sites register at compile time, run or not.
fn facade_call_sites() -> u32 {
    counter!(description: "Events.", "clash_facade_events_total").increment(1);
    gauge!(description: "Wait.", "clash_facade_wait_seconds").set(1.0);
    histogram!(description: "Wait.", "clash_facade_wait_seconds").record(1.0);
    line!()
}

/// Declared once: no issue.
#[business_metric]
static CLASH_FINE_TOTAL: Counter;

#[monitor]
fn monitored() {}

fn at(meta: &MetricMeta) -> String {
    format!("{}:{}", meta.file, meta.line)
}

#[test]
#[allow(clippy::too_many_lines)] // one install(), every issue checked
fn install_fails_naming_both_locations_of_every_clash() {
    monitored();
    let facade_line = facade_call_sites();
    CLASH_FINE_TOTAL.inc();
    let issues = match Observability::builder().without_server().install() {
        Err(Error::Catalog(issues)) => issues,
        Err(other) => panic!("expected catalog issues, got {other}"),
        Ok(_) => panic!("install() accepted clashing declarations"),
    };
    let texts: Vec<String> = issues.iter().map(ToString::to_string).collect();
    let find = |needle: &[&str]| -> &String {
        texts
            .iter()
            .find(|t| needle.iter().all(|n| t.contains(n)))
            .unwrap_or_else(|| {
                panic!(
                    "no issue mentions {needle:?}; issues:\n{}",
                    texts.join("\n")
                )
            })
    };

    let here = at(CLASH_RUNS_TOTAL.meta());
    let there = at(other::CLASH_RUNS_TOTAL.meta());
    assert_ne!(here, there);
    let runs = find(&["`clash_runs_total` is declared twice", &here, &there]);
    assert!(
        !runs.contains("conflicting"),
        "identical declarations: {runs}"
    );

    find(&[
        "`clash_batch_rows` is declared twice",
        "conflicting",
        "histogram without labels",
        "gauge without labels",
        &at(CLASH_BATCH_ROWS.meta()),
        &at(other::CLASH_BATCH_ROWS.meta()),
    ]);
    find(&[
        "`clash_loads_total` is declared twice",
        "labels (pipeline)",
        "labels (pipeline, target)",
        &at(CLASH_LOADS_TOTAL.meta()),
        &at(other::CLASH_LOADS_TOTAL.meta()),
    ]);
    find(&[
        "one OpenMetrics family `clash_events`",
        &at(CLASH_EVENTS_TOTAL.meta()),
        &at(CLASH_EVENTS.meta()),
    ]);
    find(&[
        "`function_calls_total`",
        "`#[monitor]` family",
        &at(FUNCTION_CALLS_TOTAL.meta()),
        "`monitored` at tests/tests/business_catalog.rs:",
    ]);
    find(&["`build_info`", &at(BUILD_INFO.meta())]);
    find(&[
        "`flext_observability_restarts_total`",
        "prefix `flext_observability_`",
        &at(FLEXT_OBSERVABILITY_RESTARTS_TOTAL.meta()),
    ]);
    find(&[
        "`process_restarts_total`",
        "prefix `process_`",
        &at(PROCESS_RESTARTS_TOTAL.meta()),
    ]);
    find(&[
        "`health_check_pages_total`",
        "prefix `health_check_`",
        &at(HEALTH_CHECK_PAGES_TOTAL.meta()),
    ]);
    find(&[
        "`flext_otlp_retries_total`",
        "prefix `flext_otlp_`",
        &at(FLEXT_OTLP_RETRIES_TOTAL.meta()),
    ]);
    let file = "tests/tests/business_catalog.rs";
    find(&[
        "business metric `clash_facade_events_total`",
        &at(CLASH_FACADE_EVENTS_TOTAL.meta()),
        &format!(
            "`counter!(\"clash_facade_events_total\")` at {file}:{}",
            facade_line - 3
        ),
    ]);
    find(&[
        &format!(
            "`gauge!(\"clash_facade_wait_seconds\")` at {file}:{}",
            facade_line - 2
        ),
        &format!(
            "`histogram!(\"clash_facade_wait_seconds\")` at {file}:{}",
            facade_line - 1
        ),
        "two kinds",
    ]);
    assert!(
        !texts.iter().any(|t| t.contains("clash_fine_total")),
        "{texts:?}"
    );
    assert_eq!(
        texts.len(),
        12,
        "one issue per clash:\n{}",
        texts.join("\n")
    );

    // Rendering still works: the first declaration of each name is exported.
    let text = flext_observability::prometheus::render();
    assert!(text.contains("clash_fine_total 1"), "{text}");
}
