use flext_observability::{business_metric, Counter};

#[business_metric]
static ETL_ROWS_TOTAL: Counter;

fn main() {}
