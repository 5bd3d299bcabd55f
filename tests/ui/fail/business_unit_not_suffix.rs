use flext_observability::{business_metric, Histogram};

/// Duration of runs.
#[business_metric(unit = "seconds")]
static ETL_RUN_DURATION: Histogram;

fn main() {}
