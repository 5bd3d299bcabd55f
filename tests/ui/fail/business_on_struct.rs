use flext_observability::business_metric;

/// Rows.
#[business_metric]
struct Rows;

fn main() {}
