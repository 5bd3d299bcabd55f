use flext_observability::{Counter, Histogram, business_metric};
use flext_observability_tests::sample;

/// Runs.
#[business_metric(labels(pipeline, status))]
static RUNS_TOTAL: Counter;

/// Rows.
#[business_metric(labels(pipeline))]
static ROWS_TOTAL: Counter;

/// Duration.
#[business_metric(labels(pipeline), buckets = ["1ms", "1s"])]
static RUN_SECONDS: Histogram;

/// Batches.
#[business_metric(buckets = [1, 10, 100])]
static BATCH_ROWS: Histogram;

#[derive(Debug)]
struct Report {
    rows: u64,
}

#[derive(Debug)]
struct Failed;

#[business_metric(
    RUNS_TOTAL { pipeline: name, status: outcome }.inc(),
    RUNS_TOTAL { pipeline: "fixed", status: outcome }.inc(),
    RUN_SECONDS { pipeline: name }.observe(elapsed),
    BATCH_ROWS.observe(batch.len()),
    ROWS_TOTAL { pipeline: name }.inc_by(|r| r.rows),
)]
fn run(name: &str, batch: Vec<u32>) -> Result<Report, Failed> {
    if batch.is_empty() {
        return Err(Failed);
    }
    Ok(Report { rows: batch.len() as u64 * 2 })
}

#[test]
fn exact() {
    run("a", vec![1, 2, 3]).unwrap();
    run("a", vec![]).unwrap_err();
    let text = flext_observability::prometheus::render();
    println!("{text}");
    assert_eq!(sample(&text, r#"runs_total{pipeline="a",status="success"}"#), Some(1.0));
}
