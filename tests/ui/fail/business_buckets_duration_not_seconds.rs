use flext_observability::{business_metric, Histogram};

/// Rows per batch.
#[business_metric(buckets = [10, "1s"])]
static ETL_BATCH_ROWS: Histogram;

fn main() {}
