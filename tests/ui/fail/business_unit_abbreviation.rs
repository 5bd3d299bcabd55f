use flext_observability::{business_metric, Gauge};

/// Lag.
#[business_metric]
static ETL_LAG_MS: Gauge;

fn main() {}
