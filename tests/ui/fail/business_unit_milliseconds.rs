use flext_observability::{business_metric, Histogram};

/// Duration of runs.
#[business_metric(buckets = [10, 100, 1000])]
static ETL_RUN_DURATION_MILLISECONDS: Histogram;

fn main() {}
