use flext_observability::health_check;

#[health_check(timeout = "2 parsecs")]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
