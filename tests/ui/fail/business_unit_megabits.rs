use flext_observability::{business_metric, Counter};

/// Data transferred.
#[business_metric]
static ETL_TRANSFER_MEGABITS_TOTAL: Counter;

fn main() {}
