use flext_observability::{business_metric, Info};

/// Timeout settings of each pipeline.
#[business_metric(labels(pipeline), unit = "seconds")]
static ETL_TIMEOUT_SECONDS_INFO: Info;

fn main() {}
