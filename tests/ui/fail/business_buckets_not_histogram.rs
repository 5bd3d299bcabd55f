use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric(buckets = [1, 10])]
static ETL_ROWS_TOTAL: Counter;

fn main() {}
