use flext_observability::{business_metric, Counter};

/// Pipeline runs.
#[business_metric(labels(status))]
static RUNS_TOTAL: Counter;

#[business_metric(RUNS_TOTAL { status: outcome }.inc(), alert(above = 0))]
fn run() -> Result<(), String> {
    Ok(())
}

fn main() {}
