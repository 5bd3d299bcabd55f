use flext_observability::{business_metric, Histogram};

/// Batch durations.
#[business_metric(alert(above = 60))]
static BATCH_DURATION_SECONDS: Histogram;

fn main() {}
