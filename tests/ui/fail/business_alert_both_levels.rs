use flext_observability::{business_metric, Gauge};

/// Share of valid records.
#[business_metric(alert(below = 0.9, above = 1.0))]
static DATA_QUALITY_RATIO: Gauge;

fn main() {}
