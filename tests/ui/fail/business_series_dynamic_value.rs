use flext_observability::{business_metric, Counter};

/// Runs, by pipeline and status.
#[business_metric(labels(pipeline, status))]
static ETL_RUNS_TOTAL: Counter;

fn main() {
    let name = String::from("orders");
    flext_observability::series!(ETL_RUNS_TOTAL { pipeline: &name, status: "success" }).inc();
}
