use flext_observability::{business_metric, Gauge};

/// Batch size.
#[business_metric(unit = "kilobytes")]
static ETL_BATCH_SIZE: Gauge;

fn main() {}
