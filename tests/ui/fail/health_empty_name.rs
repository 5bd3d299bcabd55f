use flext_observability::health_check;

#[health_check(name = "")]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
