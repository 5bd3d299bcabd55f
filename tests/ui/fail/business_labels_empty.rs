use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric(labels())]
static ETL_ROWS_TOTAL: Counter;

fn main() {}
