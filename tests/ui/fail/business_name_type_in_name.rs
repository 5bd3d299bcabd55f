use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric]
static ETL_ROWS_COUNTER_TOTAL: Counter;

fn main() {}
