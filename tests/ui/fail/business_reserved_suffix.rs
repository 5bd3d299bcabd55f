use flext_observability::{business_metric, Gauge};

/// Items in the queue.
#[business_metric]
static ETL_QUEUE_COUNT: Gauge;

fn main() {}
