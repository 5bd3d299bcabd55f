use flext_observability::{business_metric, Histogram};

/// Duration of runs.
#[business_metric]
static ETL_RUN_DURATION_SECOND: Histogram;

fn main() {}
