use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric]
static ETL_ROWS_TOTAL: Counter = 0;

fn main() {}
