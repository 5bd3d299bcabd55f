use flext_observability::{business_metric, Gauge};

/// Data quality.
#[business_metric]
static ETL_QUALITY_PERCENT: Gauge;

fn main() {}
