use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric(labels(pipeline), max_series = 0)]
static ETL_ROWS_TOTAL: Counter;

fn main() {}
