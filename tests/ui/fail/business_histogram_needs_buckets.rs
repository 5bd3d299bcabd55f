use flext_observability::{business_metric, Histogram};

/// Rows per batch.
#[business_metric]
static ETL_BATCH_ROWS: Histogram;

fn main() {}
