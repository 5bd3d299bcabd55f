//! Start-up validation: declarations that clash, within this crate, with another crate
//! (`flext-observability-fixture-clash`) or with the runtime's own families, make
//! `install()` fail with one issue each, naming both source locations.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use flext_observability::{
    Counter, Error, Gauge, Histogram, Info, MetricMeta, Observability, business_metric, monitor,
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

/// Declared once: no issue.
#[business_metric]
static CLASH_FINE_TOTAL: Counter;

#[monitor]
fn monitored() {}

fn at(meta: &MetricMeta) -> String {
    format!("{}:{}", meta.file, meta.line)
}

#[test]
fn install_fails_naming_both_locations_of_every_clash() {
    monitored();
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
    assert!(
        !texts.iter().any(|t| t.contains("clash_fine_total")),
        "{texts:?}"
    );
    assert_eq!(texts.len(), 7, "one issue per clash:\n{}", texts.join("\n"));

    // Rendering still works: the first declaration of each name is exported.
    let text = flext_observability::prometheus::render();
    assert!(text.contains("clash_fine_total 1"), "{text}");
}
