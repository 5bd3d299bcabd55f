use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric]
static __ETL_ROWS_TOTAL: Counter;

fn main() {}
