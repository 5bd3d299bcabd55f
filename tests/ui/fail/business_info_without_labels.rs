use flext_observability::{business_metric, Info};

/// Build.
#[business_metric]
static ETL_BUILD_INFO: Info;

fn main() {}
