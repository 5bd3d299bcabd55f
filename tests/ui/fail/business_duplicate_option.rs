use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric(name = "etl_one_total", name = "etl_two_total")]
static ETL_ROWS_TOTAL: Counter;

fn main() {}
