use flext_observability::{business_metric, Histogram};

/// Duration of runs.
#[business_metric(buckets = ["1m", "1s"])]
static ETL_RUN_DURATION_SECONDS: Histogram;

fn main() {}
