use flext_observability::{business_metric, Counter};

/// Bytes written.
#[business_metric]
static ETL_BYTES_WRITTEN_TOTAL: Counter;

fn main() {}
