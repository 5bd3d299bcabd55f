use flext_observability::{business_metric, Counter};

/// Rows written.
#[business_metric]
static ETL_ROWS_WRITTEN: Counter;

fn main() {}
