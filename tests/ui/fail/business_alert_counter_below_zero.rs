use flext_observability::{business_metric, Counter};

/// Rows written.
#[business_metric(alert(below = 0, over = "1h"))]
static ROWS_WRITTEN_TOTAL: Counter;

fn main() {}
