use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric]
static ETL_ROWS_TOTAL: Counter<u8>;

fn main() {}
