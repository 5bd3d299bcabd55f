use flext_observability::health_check;

#[health_check(failure_threshold = 0)]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
