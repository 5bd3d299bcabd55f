//! `#[business_metric]` on functions: every call records exactly what its entries say,
//! from the outcome, the duration, the arguments and the return value.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use std::panic::{AssertUnwindSafe, catch_unwind};

use flext_observability::{Counter, Gauge, Histogram, business_metric};
use flext_observability_tests::sample;

/// Imports by pipeline and outcome.
#[business_metric(labels(pipeline, status))]
static FN_IMPORTS_TOTAL: Counter;

/// Imports of the fixed pipeline by outcome.
#[business_metric(labels(pipeline, status))]
static FN_FIXED_IMPORTS_TOTAL: Counter;

/// Rows imported.
#[business_metric(labels(pipeline))]
static FN_IMPORTED_ROWS_TOTAL: Counter;

/// Duration of imports.
#[business_metric(labels(pipeline), buckets = ["1ms", "1s", "1m"])]
static FN_IMPORT_DURATION_SECONDS: Histogram;

/// Size of the batches handed to imports.
#[business_metric(buckets = [1, 10, 100, 1000])]
static FN_BATCH_ROWS: Histogram;

/// Calls of the label-less entry point.
#[business_metric]
static FN_CALLS_TOTAL: Counter;

/// Quality of the last import.
#[business_metric(labels(pipeline))]
static FN_QUALITY_RATIO: Gauge;

/// Items counted by the async path.
#[business_metric(labels(source))]
static FN_ASYNC_ITEMS_TOTAL: Counter;

#[derive(Debug)]
struct Report {
    rows: u64,
    quality: f64,
}

#[derive(Debug)]
struct Rejected;

#[business_metric(
    FN_IMPORTS_TOTAL { pipeline: name, status: outcome }.inc(),
    FN_FIXED_IMPORTS_TOTAL { pipeline: "fixed", status: outcome }.inc(),
    FN_IMPORT_DURATION_SECONDS { pipeline: name }.observe(elapsed),
    FN_BATCH_ROWS.observe(batch.len()),
    FN_IMPORTED_ROWS_TOTAL { pipeline: name }.inc_by(|report| report.rows),
    FN_QUALITY_RATIO { pipeline: name }.set(|report: &Report| report.quality),
    FN_CALLS_TOTAL.inc(),
)]
fn import(name: &str, batch: Vec<u32>) -> Result<Report, Rejected> {
    if batch.is_empty() {
        return Err(Rejected);
    }
    assert!(batch[0] != 666, "poisoned batch");
    let rows = batch.len() as u64;
    Ok(Report {
        rows: rows * 10,
        quality: 1.0 / rows as f64,
    })
}

struct Importer {
    source: String,
}

impl Importer {
    #[business_metric(FN_ASYNC_ITEMS_TOTAL { source: &self.source }.inc_by(|n| *n))]
    async fn fetch(&self, n: u32) -> u32 {
        tokio::task::yield_now().await;
        n
    }
}

fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

#[test]
fn every_call_records_outcome_duration_arguments_and_return_value() {
    // Fixed series exist at zero before the first call.
    let before = flext_observability::prometheus::render();
    assert_eq!(
        sample(
            &before,
            r#"fn_fixed_imports_total{pipeline="fixed",status="success"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &before,
            r#"fn_fixed_imports_total{pipeline="fixed",status="failure"}"#
        ),
        Some(0.0)
    );

    import("orders", vec![1, 2, 3, 4]).unwrap();
    import("orders", vec![5, 6]).unwrap();
    import("orders", vec![]).unwrap_err();
    import("refunds", vec![7; 200]).unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| import("refunds", vec![666, 1, 2])));
    assert!(panicked.is_err());

    let text = flext_observability::prometheus::render();
    let ok = |p: &str| {
        value(
            &text,
            &format!(r#"fn_imports_total{{pipeline="{p}",status="success"}}"#),
        )
    };
    let failed = |p: &str| {
        value(
            &text,
            &format!(r#"fn_imports_total{{pipeline="{p}",status="failure"}}"#),
        )
    };
    assert_eq!(ok("orders"), 2.0);
    assert_eq!(failed("orders"), 1.0);
    assert_eq!(ok("refunds"), 1.0);
    assert_eq!(failed("refunds"), 1.0, "a panic is a failure");
    assert_eq!(
        value(
            &text,
            r#"fn_fixed_imports_total{pipeline="fixed",status="success"}"#
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            r#"fn_fixed_imports_total{pipeline="fixed",status="failure"}"#
        ),
        2.0
    );
    assert_eq!(value(&text, "fn_calls_total"), 5.0);

    // Return values count only on success: 10 × rows.
    assert_eq!(
        value(&text, r#"fn_imported_rows_total{pipeline="orders"}"#),
        60.0
    );
    assert_eq!(
        value(&text, r#"fn_imported_rows_total{pipeline="refunds"}"#),
        2000.0
    );
    // The gauge holds the last successful call's value.
    assert_eq!(value(&text, r#"fn_quality_ratio{pipeline="orders"}"#), 0.5);
    assert_eq!(
        value(&text, r#"fn_quality_ratio{pipeline="refunds"}"#),
        0.005
    );

    // Argument values are recorded for every call, whatever its outcome: 4, 2, 0, 200, 3.
    assert_eq!(value(&text, "fn_batch_rows_count"), 5.0);
    assert_eq!(value(&text, "fn_batch_rows_sum"), 209.0);
    assert_eq!(value(&text, r#"fn_batch_rows_bucket{le="1"}"#), 1.0);
    assert_eq!(value(&text, r#"fn_batch_rows_bucket{le="10"}"#), 4.0);
    assert_eq!(value(&text, r#"fn_batch_rows_bucket{le="1000"}"#), 5.0);

    // One duration per call, failures and panics included.
    assert_eq!(
        value(
            &text,
            r#"fn_import_duration_seconds_count{pipeline="orders"}"#
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            r#"fn_import_duration_seconds_count{pipeline="refunds"}"#
        ),
        2.0
    );
    let sum = value(
        &text,
        r#"fn_import_duration_seconds_sum{pipeline="orders"}"#,
    );
    assert!(sum > 0.0, "durations are measured: {sum}");
}

#[test]
fn async_methods_record_from_self_and_the_return_value() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let a = Importer {
            source: "api".into(),
        };
        let b = Importer {
            source: "sftp".into(),
        };
        let mut tasks = Vec::new();
        for i in 1..=20u32 {
            let importer = if i % 2 == 0 { &a } else { &b };
            tasks.push(importer.fetch(i));
        }
        for t in tasks {
            t.await;
        }
    });
    let text = flext_observability::prometheus::render();
    // Even values 2..=20 sum to 110, odd ones 1..=19 to 100.
    assert_eq!(value(&text, r#"fn_async_items_total{source="api"}"#), 110.0);
    assert_eq!(
        value(&text, r#"fn_async_items_total{source="sftp"}"#),
        100.0
    );
}
