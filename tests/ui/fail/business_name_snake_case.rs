use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric(name = "EtlRows_total")]
static ETL_ROWS_TOTAL: Counter;

fn main() {}
