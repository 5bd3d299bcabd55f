use flext_observability::{business_metric, Gauge};

/// Rows waiting.
#[business_metric]
static ETL_ROWS_WAITING_TOTAL: Gauge;

fn main() {}
