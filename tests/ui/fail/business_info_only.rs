use flext_observability::{business_metric, Gauge};

/// Build.
#[business_metric]
static ETL_BUILD_INFO: Gauge;

fn main() {}
