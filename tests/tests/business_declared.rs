//! Declared business metrics: recording through statics, label structs, call sites with
//! fixed values; what the exposition shows.

use flext_observability::{Counter, Gauge, Histogram, Info, business_metric, series};
use flext_observability_tests::sample;

/// Pipeline runs.
#[business_metric]
static ETL_RUNS_TOTAL: Counter;

/// Rows written by ETL pipelines.
#[business_metric(labels(pipeline, target))]
pub static ETL_ROWS_WRITTEN_TOTAL: Counter;

/// Data quality per dimension.
#[business_metric(labels(pipeline, dimension))]
static ETL_DATA_QUALITY_RATIO: Gauge;

/// Duration of runs.
#[business_metric(labels(pipeline), buckets = ["1s", "1m", "1h"])]
static ETL_RUN_DURATION_SECONDS: Histogram;

/// Size of batches.
#[business_metric(buckets = [10, 100, 1000])]
static ETL_BATCH_ROWS: Histogram;

/// Pipeline build.
#[business_metric(labels(pipeline, version))]
static ETL_PIPELINE_INFO: Info;

#[test]
fn records() {
    ETL_RUNS_TOTAL.inc();
    ETL_RUNS_TOTAL.inc_by(2u32);
    ETL_ROWS_WRITTEN_TOTAL { pipeline: "orders", target: "pg" }.inc_by(10u64);
    let name = String::from("orders");
    ETL_ROWS_WRITTEN_TOTAL { pipeline: &name, target: "pg" }.inc();
    series!(ETL_ROWS_WRITTEN_TOTAL { pipeline: "orders", target: "pg" }).inc_by(5u64);
    series!(ETL_ROWS_WRITTEN_TOTAL { pipeline: "fixed", target: "pg" }).inc();
    ETL_DATA_QUALITY_RATIO { pipeline: "orders", dimension: "completeness" }.set(0.99);
    ETL_RUN_DURATION_SECONDS { pipeline: "orders" }.observe(2.5);
    ETL_BATCH_ROWS.observe(500u32);
    ETL_PIPELINE_INFO { pipeline: "orders", version: "1.2" }.set();
    let text = flext_observability::prometheus::render();
    println!("{text}");
    assert_eq!(sample(&text, "etl_runs_total"), Some(3.0));
    assert_eq!(sample(&text, r#"etl_rows_written_total{pipeline="orders",target="pg"}"#), Some(16.0));
}
