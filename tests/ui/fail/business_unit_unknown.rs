use flext_observability::{business_metric, Counter};

/// Rows.
#[business_metric(unit = "rows")]
static ETL_WRITTEN_TOTAL: Counter;

fn main() {}
