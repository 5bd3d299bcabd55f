use flext_observability::{business_metric, Info};

/// Pipeline build.
#[business_metric(labels(version))]
static ETL_PIPELINE: Info;

fn main() {}
