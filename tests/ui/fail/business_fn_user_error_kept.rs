use flext_observability::{business_metric, Counter};

/// Runs, by pipeline and status.
#[business_metric(labels(pipeline, status))]
static ETL_RUNS_TOTAL: Counter;

#[business_metric(ETL_RUNS_TOTAL { pipeline: name, status: outcome }.inc())]
fn run(name: &str) -> u32 {
    "not a number"
}

fn main() {}
