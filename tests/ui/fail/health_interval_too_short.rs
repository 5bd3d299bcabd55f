use flext_observability::health_check;

#[health_check(interval = "1ms")]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
