use flext_observability::health_check;

#[health_check(name = "primary database")]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
