use flext_observability::{business_metric, Counter};

/// Runs, by pipeline and status.
#[business_metric(labels(pipeline, status))]
static ETL_RUNS_TOTAL: Counter;

fn main() {
    ETL_RUNS_TOTAL { pipeline: "orders" }.inc();
}
