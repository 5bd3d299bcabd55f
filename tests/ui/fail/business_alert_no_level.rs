use flext_observability::{business_metric, Gauge};

/// Share of valid records.
#[business_metric(alert(severity = "ticket"))]
static DATA_QUALITY_RATIO: Gauge;

fn main() {}
