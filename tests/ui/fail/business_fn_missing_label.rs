use flext_observability::{business_metric, Counter};

/// Runs, by pipeline and status.
#[business_metric(labels(pipeline, status))]
static ETL_RUNS_TOTAL: Counter;

#[business_metric(ETL_RUNS_TOTAL { pipeline: name }.inc())]
fn run(name: &str) {
    let _ = name;
}

fn main() {}
