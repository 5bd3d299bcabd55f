use flext_observability::business_metric;

/// Rows.
#[business_metric]
static ETL_ROWS_TOTAL: u64;

fn main() {}
