use flext_observability::{business_metric, Gauge};

/// Share of valid records.
#[business_metric(alert(below = 0.95, over = "5m"))]
static DATA_QUALITY_RATIO: Gauge;

fn main() {}
