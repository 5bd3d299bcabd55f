use flext_observability::{business_metric, Gauge};

/// Share of valid records.
#[business_metric(labels(pipeline), alert(below = 0.95, labels(pipeline = "orders")))]
static DATA_QUALITY_RATIO: Gauge;

fn main() {}
