use flext_observability::health_check;

#[health_check(interval = 30)]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
